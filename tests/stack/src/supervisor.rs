//! A small process supervisor: starts children in their own process groups, sends their
//! output to log files, waits until they answer, and stops every one of them (the whole group,
//! SIGTERM then SIGKILL) when asked or when dropped, so nothing is left running.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// One started process.
#[derive(Debug)]
struct Managed {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Owns the processes of a stack.
#[derive(Debug)]
pub struct Supervisor {
    logs: PathBuf,
    children: Vec<Managed>,
    pidfile: Option<PathBuf>,
}

impl Supervisor {
    /// A supervisor writing logs under `dir/logs`.
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).with_context(|| format!("create {}", logs.display()))?;
        Ok(Supervisor {
            logs,
            children: Vec::new(),
            pidfile: None,
        })
    }

    /// Also keeps the process group ids in `path`, for `stop_pidfile` from another process.
    pub fn with_pidfile(mut self, path: PathBuf) -> Self {
        self.pidfile = Some(path);
        self
    }

    /// Starts `cmd` as `name` in a process group of its own, output to `logs/<name>.log`.
    pub fn spawn(&mut self, name: &str, mut cmd: Command) -> anyhow::Result<u32> {
        let log = self.logs.join(format!("{name}.log"));
        let out = File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .with_context(|| format!("start {name} ({:?})", cmd.get_program()))?;
        let pid = child.id();
        tracing::debug!(name, pid, "started");
        self.children.push(Managed {
            name: name.to_string(),
            child,
            log,
        });
        self.write_pidfile();
        Ok(pid)
    }

    /// The log file of `name`.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }

    /// The last `bytes` of `name`'s log.
    pub fn log_tail(&self, name: &str, bytes: u64) -> String {
        let Ok(mut f) = File::open(self.log_path(name)) else {
            return String::new();
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(bytes)));
        let mut s = String::new();
        let _ = f.read_to_string(&mut s);
        s
    }

    /// Fails if `name` has exited, with the end of its log.
    pub fn check_alive(&mut self, name: &str) -> anyhow::Result<()> {
        let tail = self.log_tail(name, 3000);
        let m = self
            .children
            .iter_mut()
            .find(|m| m.name == name)
            .context("no such process")?;
        if let Some(status) = m.child.try_wait()? {
            bail!(
                "{name} exited ({status}); end of {}:\n{tail}",
                m.log.display()
            );
        }
        Ok(())
    }

    /// Waits until `url` answers 2xx, or fails when `name` exits or `timeout` passes.
    pub async fn wait_http(
        &mut self,
        name: &str,
        url: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + timeout;
        loop {
            self.check_alive(name)?;
            match client.get(url).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                _ if Instant::now() > deadline => {
                    bail!(
                        "{name} did not answer {url} within {timeout:?}; end of its log:\n{}",
                        self.log_tail(name, 3000)
                    )
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Runs `cmd` to completion (output to `logs/<name>.log`), failing with its log if it fails.
    pub fn run(&self, name: &str, mut cmd: Command) -> anyhow::Result<()> {
        let log = self.log_path(name);
        let out = File::create(&log)?;
        let status = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .status()
            .with_context(|| format!("run {name} ({:?})", cmd.get_program()))?;
        if !status.success() {
            bail!(
                "{name} failed ({status}); end of {}:\n{}",
                log.display(),
                self.log_tail(name, 3000)
            );
        }
        Ok(())
    }

    /// The process ids of the children still running.
    pub fn pids(&mut self) -> Vec<(String, u32)> {
        self.children
            .iter_mut()
            .filter_map(|m| {
                matches!(m.child.try_wait(), Ok(None)).then(|| (m.name.clone(), m.child.id()))
            })
            .collect()
    }

    /// Stops `name` (its whole process group): SIGTERM, then SIGKILL after 10 s.
    pub fn stop(&mut self, name: &str) {
        if let Some(i) = self.children.iter().position(|m| m.name == name) {
            let mut m = self.children.remove(i);
            stop_child(&mut m.child, Duration::from_secs(10));
            self.write_pidfile();
        }
    }

    /// Sends SIGKILL to `name`'s process group at once (a crash, for tests).
    pub fn kill(&mut self, name: &str) {
        if let Some(i) = self.children.iter().position(|m| m.name == name) {
            let mut m = self.children.remove(i);
            let _ = killpg(Pid::from_raw(m.child.id() as i32), Signal::SIGKILL);
            let _ = m.child.wait();
            self.write_pidfile();
        }
    }

    /// Suspends (`SIGSTOP`) or resumes (`SIGCONT`) `name`'s process group: for tests that
    /// need what happens meanwhile to be seen at once when it resumes.
    pub fn pause(&mut self, name: &str, paused: bool) -> anyhow::Result<()> {
        let m = self
            .children
            .iter()
            .find(|m| m.name == name)
            .with_context(|| format!("no process {name}"))?;
        let signal = if paused {
            Signal::SIGSTOP
        } else {
            Signal::SIGCONT
        };
        killpg(Pid::from_raw(m.child.id() as i32), signal)
            .with_context(|| format!("{signal} to {name}"))?;
        Ok(())
    }

    /// Stops every child, the last started first.
    pub fn stop_all(&mut self) {
        while let Some(mut m) = self.children.pop() {
            tracing::debug!(name = m.name, "stopping");
            stop_child(&mut m.child, Duration::from_secs(10));
        }
        if let Some(p) = &self.pidfile {
            let _ = std::fs::remove_file(p);
        }
    }

    fn write_pidfile(&self) {
        if let Some(p) = &self.pidfile {
            let text: String = self
                .children
                .iter()
                .map(|m| format!("{} {}\n", m.child.id(), m.name))
                .collect();
            let _ = std::fs::write(p, text);
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn stop_child(child: &mut Child, grace: Duration) {
    let group = Pid::from_raw(child.id() as i32);
    if matches!(child.try_wait(), Ok(Some(_))) {
        // The leader is gone; its group may not be.
        let _ = killpg(group, Signal::SIGKILL);
        return;
    }
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            let _ = killpg(group, Signal::SIGKILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
    wait_group_gone(child.id(), Duration::from_secs(2));
}

/// Stops the process groups listed in a pid file written by another supervisor
/// (`scripts/demo --down`). Returns how many were still running.
pub fn stop_pidfile(path: &Path) -> anyhow::Result<usize> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let groups: Vec<Pid> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse::<i32>().ok())
        .map(Pid::from_raw)
        .collect();
    let alive: Vec<Pid> = groups
        .into_iter()
        .filter(|g| killpg(*g, None).is_ok())
        .collect();
    for g in &alive {
        let _ = killpg(*g, Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && alive.iter().any(|g| group_alive(g.as_raw() as u32)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    for g in &alive {
        let _ = killpg(*g, Signal::SIGKILL);
        wait_group_gone(g.as_raw() as u32, Duration::from_secs(2));
    }
    let _ = std::fs::remove_file(path);
    Ok(alive.len())
}

/// Whether any live (not zombie) process of group `pgid` still exists, read from `/proc`: a
/// killed grandchild stays a zombie until init reaps it, and that is not "left running".
pub fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return killpg(Pid::from_raw(pgid as i32), None).is_ok();
    };
    entries.flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|g| g.parse::<u32>().ok());
        pgrp == Some(pgid) && state != Some("Z")
    })
}

/// Waits up to `timeout` for group `pgid` to have no live process.
pub fn wait_group_gone(pgid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while group_alive(pgid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn dropping_the_supervisor_stops_whole_process_groups() {
        let dir = tempfile::tempdir().unwrap();
        let mut sup = Supervisor::new(dir.path()).unwrap();
        // A child that starts a grandchild and ignores SIGTERM: only SIGKILL of the group ends both.
        let pid = sup
            .spawn("stubborn", shell("trap '' TERM; sleep 300 & wait"))
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert!(group_alive(pid));
        let started = Instant::now();
        sup.stop("stubborn");
        assert!(!group_alive(pid), "group {pid} must be gone");
        assert!(
            started.elapsed() >= Duration::from_secs(9),
            "SIGTERM was ignored, so SIGKILL came after the grace"
        );
        drop(sup);
    }

    #[test]
    fn a_pidfile_lets_another_process_stop_the_stack() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("stack.pids");
        let mut sup = Supervisor::new(dir.path())
            .unwrap()
            .with_pidfile(pidfile.clone());
        let a = sup.spawn("a", shell("sleep 300")).unwrap();
        let b = sup.spawn("b", shell("sleep 300 & wait")).unwrap();
        assert!(std::fs::read_to_string(&pidfile).unwrap().contains(" b\n"));
        assert_eq!(stop_pidfile(&pidfile).unwrap(), 2);
        // The children are gone even before their parent reaps them.
        let _ = sup.pids();
        assert!(!group_alive(a) && !group_alive(b));
        assert!(!pidfile.exists());
    }

    #[tokio::test]
    async fn waiting_on_a_process_that_died_fails_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut sup = Supervisor::new(dir.path()).unwrap();
        sup.spawn("broken", shell("echo 'bad config on line 3' >&2; exit 2"))
            .unwrap();
        let err = sup
            .wait_http("broken", "http://127.0.0.1:9/", Duration::from_secs(5))
            .await
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("bad config on line 3"), "{msg}");
    }
}
