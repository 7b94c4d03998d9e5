"""Slack incoming-webhook messages: one readable line or two per event, with a link.

Slack takes `{"text": ...}` with its own mrkdwn (`<url|label>` links, `*bold*`); `&`, `<` and `>`
in our text must be escaped or Slack reads them as markup.
"""

from __future__ import annotations

from typing import Any


def esc(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _task_line(task: dict[str, Any]) -> str:
    return (f"task #{task['id']} ({esc(task['priority'])}, team {esc(task.get('team') or '—')}, "
            f"{esc(str(task['kind']).upper())} {task['score']})")


def _link(url: str, label: str) -> str:
    return f"<{url}|{label}>"


def text_for(env: dict[str, Any], public_url: str) -> str:
    t, d = env.get("type"), env.get("data") or {}
    task = d.get("task") or {}
    if t == "task.created":
        comment = d.get("comment")
        quote = f"\n> {esc(comment)[:500]}" if comment else ""
        themes = ", ".join(esc(x) for x in d.get("themes") or [])
        return (f":warning: New recovery {_task_line(task)}"
                f"{' · themes: ' + themes if themes else ''}{quote}\n{_link(task['url'], 'Open the task')}")
    if t == "task.sla_breached":
        label = str(d.get("window", "")).replace("_", " ")
        return (f":rotating_light: Recovery {_task_line(task)} missed its {label} deadline "
                f"({str(d.get('due_at', ''))[:16].replace('T', ' ')} UTC). {_link(task['url'], 'Open the task')}")
    if t == "task.sla_warning":
        label = str(d.get("window", "")).replace("_", " ")
        return f":hourglass: Recovery {_task_line(task)}: {label} due soon. {_link(task['url'], 'Open the task')}"
    if t == "task.assigned":
        return f":bust_in_silhouette: Recovery {_task_line(task)} assigned to {esc(d.get('owner') or 'someone')}."
    if t == "task.resolved":
        return (f":white_check_mark: Recovery {_task_line(task)} resolved: {esc(d.get('outcome') or '')}"
                f"{' · root cause ' + esc(d['root_cause']) if d.get('root_cause') else ''}.")
    if t == "response.created":
        r = d.get("response") or {}
        comment = f"\n> {esc(r['comment'])[:500]}" if r.get("comment") else ""
        return f"New {esc(str(r.get('survey', '')).upper())} answer: {r.get('score')} ({esc(r.get('score_class'))}){comment}"
    if t == "followup.answered":
        r = d.get("response") or {}
        return f"Follow-up answered for recovery task #{d.get('task_id')}: {r.get('score')} ({esc(r.get('score_class'))})."
    if t == "themes.daily":
        lines = [f"• {esc(x['theme'])}: {x['count']} mention(s), {x['negative']} negative"
                 for x in d.get("themes") or []]
        body = "\n".join(lines) or "No themed comments yesterday."
        return f":bar_chart: Top themes on {esc(d.get('day'))}:\n{body}\n{_link(public_url + '/reports/themes', 'Theme report')}"
    if t == "webhook.test":
        return ":wave: Test event from the feedback system: this Slack destination works."
    return f"{esc(t)} ({esc(env.get('subject'))})"


def message(env: dict[str, Any], settings: Any) -> dict[str, Any]:
    return {"text": text_for(env, settings.public_url)}
