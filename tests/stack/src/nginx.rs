//! nginx for the stack: a config with the stack's paths and ports that uses the repository's
//! log format (`monitoring/nginx/log_format.conf`), so the exporter reads what it expects.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config::Ports;

/// Writes `dir/nginx.conf` (and the directories nginx needs) and returns its path.
pub fn write_config(
    repo: &Path,
    dir: &Path,
    ports: &Ports,
    static_dir: &Path,
    media_dir: &Path,
) -> anyhow::Result<PathBuf> {
    for sub in ["logs", "tmp"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let log_format = repo.join("monitoring/nginx/log_format.conf");
    anyhow::ensure!(log_format.is_file(), "{} is missing", log_format.display());
    let user = if nix::unistd::geteuid().is_root() {
        "user root;\n"
    } else {
        ""
    };
    let conf = format!(
        r#"# Written by the stack from the repository's monitoring/nginx files.
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include {log_format};
    access_log {dir}/logs/access.log forum;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    types {{ text/css css; application/javascript js; image/png png; image/svg+xml svg; }}
    default_type application/octet-stream;
    client_max_body_size 2m;
    upstream forum_web {{ server 127.0.0.1:{web}; keepalive 16; }}
    upstream forum_api {{ server 127.0.0.1:{api}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{nginx};
        server_name localhost;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        location /api/ {{ proxy_pass http://forum_api; }}
        location /static/ {{ alias {static}/; expires 1h; }}
        location /media/ {{ alias {media}/; }}
        location = /nginx_status {{ stub_status; allow 127.0.0.1; deny all; access_log off; }}
        location = /metrics {{ return 404; }}
        location / {{ proxy_pass http://forum_web; }}
    }}
}}
"#,
        dir = dir.display(),
        log_format = log_format.display(),
        web = ports.forum_web,
        api = ports.forum_api,
        nginx = ports.nginx,
        static = static_dir.display(),
        media = media_dir.display(),
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}
