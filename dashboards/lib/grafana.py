"""Small builders for Grafana dashboard JSON (schema 38, Grafana 9/10).

Every panel gets a unique id, a gridPos from a simple left-to-right packer, a unit, and the
`${datasource}` variable as its datasource, so no dashboard carries a datasource id and each
one imports through the UI (`__inputs`) as well as from provisioning.
"""

DS = {"type": "prometheus", "uid": "${datasource}"}


def target(expr, legend="", ref="A", instant=False):
    """One Prometheus query of a panel: a range query, or an instant one for single values."""
    return {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "refId": ref,
            "instant": instant, "range": not instant}


def _targets(queries, instant):
    """Accepts an expr, an (expr, legend) pair, or a list of either."""
    if isinstance(queries, (str, tuple)):
        queries = [queries]
    out = []
    for i, q in enumerate(queries):
        expr, legend = (q, "") if isinstance(q, str) else q
        out.append(target(expr, legend, chr(ord("A") + i), instant))
    return out


def timeseries(title, queries, unit, description="", w=12, h=8, stack=False, bars=False, min0=True):
    """A time series panel."""
    custom = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 60 if bars else (25 if stack else 10),
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
    }
    defaults = {"unit": unit, "custom": custom}
    if min0:
        defaults["min"] = 0
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "table", "placement": "bottom", "showLegend": True,
                       "calcs": ["mean", "max", "lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": _targets(queries, False),
        "_size": (w, h),
    }


def stat(title, queries, unit, description="", w=4, h=4, mappings=None, text_mode="auto",
         thresholds=None, color_mode="value"):
    """A single-value panel (last value of each series)."""
    steps = thresholds or [{"color": "green", "value": None}]
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {
            "defaults": {"unit": unit, "mappings": mappings or [],
                         "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": color_mode, "graphMode": "none", "justifyMode": "auto",
            "orientation": "auto", "textMode": text_mode,
        },
        "targets": _targets(queries, True),
        "_size": (w, h),
    }


def gauge(title, queries, unit, description="", w=4, h=4, max_value=1, warn=0.8, crit=0.95):
    """A gauge with green/orange/red thresholds."""
    return {
        "type": "gauge",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {
            "defaults": {
                "unit": unit, "min": 0, "max": max_value,
                "thresholds": {"mode": "absolute", "steps": [
                    {"color": "green", "value": None},
                    {"color": "orange", "value": warn},
                    {"color": "red", "value": crit},
                ]},
            },
            "overrides": [],
        },
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "showThresholdLabels": False, "showThresholdMarkers": True},
        "targets": _targets(queries, True),
        "_size": (w, h),
    }


def bargauge(title, queries, unit, description="", w=12, h=8):
    """Horizontal bars, one per series (top-N lists)."""
    return {
        "type": "bargauge",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": {"unit": unit, "min": 0,
                                     "thresholds": {"mode": "absolute", "steps": [{"color": "blue", "value": None}]}},
                        "overrides": []},
        "options": {"displayMode": "gradient", "orientation": "horizontal", "showUnfilled": True,
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        "targets": _targets(queries, True),
        "_size": (w, h),
    }


def table(title, queries, unit, description="", w=24, h=8, hide=("Time",)):
    """A table of instant results, one row per series, labels as columns."""
    targets = _targets(queries, True)
    for t in targets:
        t["format"] = "table"
    return {
        "type": "table",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": {"unit": unit, "custom": {"align": "auto"}}, "overrides": []},
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""}},
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {name: True for name in hide}}},
        ],
        "targets": targets,
        "_size": (w, h),
    }


UP_DOWN = [{"type": "value", "options": {
    "0": {"text": "DOWN", "color": "red", "index": 0},
    "1": {"text": "UP", "color": "green", "index": 1},
}}]


def datasource_variable():
    """The `datasource` variable every panel uses."""
    return {
        "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
        "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [],
        "refresh": 1, "regex": "", "skipUrlSync": False,
    }


def query_variable(name, label, query, default=None, include_all=True, multi=True):
    """A variable filled from `label_values(...)`; `default` is selected on first load."""
    current = {"selected": True, "text": [default], "value": [default]} if default else {}
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "current": current, "hide": 0, "includeAll": include_all, "allValue": ".+",
        "multi": multi, "options": [], "refresh": 2, "regex": "", "skipUrlSync": False, "sort": 1,
    }


def layout(panels):
    """Assigns ids and gridPos: left to right, wrapping at Grafana's 24 columns."""
    x = y = row_h = 0
    out = []
    for pid, p in enumerate(panels, start=1):
        w, h = p.pop("_size")
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        p["id"] = pid
        p["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        x += w
        row_h = max(row_h, h)
        out.append(p)
    return out


# Annotations every dashboard shows: forum deployments (a role's process started, from its
# `forum_build_info` series appearing or changing) and alerts becoming active (critical and
# warning; Watchdog, always firing, is info).
ANNOTATIONS = [
    {
        "datasource": DS, "enable": True, "hide": False, "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Deploys",
        "expr": 'count by (job, version) (forum_build_info unless forum_build_info offset 2m)',
        "step": "1m", "titleFormat": "deploy {{job}} {{version}}", "textFormat": "",
        "tagKeys": "job,version", "useValueForTime": False,
    },
    {
        "datasource": DS, "enable": True, "hide": False, "iconColor": "red",
        "name": "Alerts",
        "expr": 'ALERTS{alertstate="firing",severity=~"critical|warning"}',
        "step": "1m", "titleFormat": "{{alertname}} ({{severity}})", "textFormat": "",
        "tagKeys": "alertname,severity", "useValueForTime": False,
    },
]


def dashboard_link(title, uid, carry=("datasource",)):
    """A link to another dashboard by uid that keeps the time range and passes on the named
    variables (`var-<name>=${name}`); pass only variables the target has."""
    query = "&".join(f"var-{v}=${{{v}}}" for v in carry)
    return {"asDropdown": False, "icon": "dashboard", "includeVars": False, "keepTime": True,
            "tags": [], "targetBlank": False, "title": title, "tooltip": "", "type": "link",
            "url": f"/d/{uid}?{query}"}


def dashboard(uid, title, description, tags, version, variables, panels, time_from="now-6h",
              links=()):
    """A whole dashboard, with `__inputs` for import through Grafana's UI."""
    return {
        "__inputs": [{
            "name": "DS_PROMETHEUS", "label": "Prometheus", "description": "Prometheus that scrapes the forum stack",
            "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus",
        }],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "gauge", "name": "Gauge", "version": ""},
            {"type": "panel", "id": "bargauge", "name": "Bar gauge", "version": ""},
            {"type": "panel", "id": "table", "name": "Table", "version": ""},
        ],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
            "type": "dashboard",
        }] + ANNOTATIONS},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{
            "asDropdown": True, "icon": "external link", "includeVars": False, "keepTime": True,
            "tags": ["forum-observability"], "targetBlank": False, "title": "Forum dashboards",
            "tooltip": "", "type": "dashboards", "url": "",
        }] + list(links),
        "liveNow": False,
        "panels": layout(panels),
        "refresh": "30s",
        "schemaVersion": 38,
        "style": "dark",
        "tags": ["forum-observability"] + tags,
        "templating": {"list": [datasource_variable()] + variables},
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": version,
        "weekStart": "",
    }
