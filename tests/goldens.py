"""The contract goldens for black-box tests: loading, our documented deviations
(tests/design/golden-deviations.json) and the matching rules of CONTRACT "Our decisions" 5
— the same rules as tests/design/golden.c, over HTTP answers."""
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ARTISTRY_SHARED", os.path.join(ROOT, "..", "shared"))

FREE_TEXT = {"description", "title", "tips", "safety_warning", "safety_tips", "common_mistakes",
             "pro_tips", "quick_instructions", "skill_level", "note", "summary", "video_url"}


def load():
    with open(os.path.join(SHARED, "contract-goldens.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def _set(obj, path, value):
    steps = re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)
    cur = obj
    for i, (key, idx) in enumerate(steps):
        last = i == len(steps) - 1
        k = int(idx) if idx else key
        if last:
            cur[k] = value
        else:
            cur = cur[k]


def apply_deviations(records):
    with open(os.path.join(ROOT, "tests", "design", "golden-deviations.json")) as f:
        devs = json.load(f)["deviations"]
    n = 0
    for r in records:
        for d in devs:
            if d["path"] != r["path"]:
                continue
            if any((r.get("request") or {}).get(k) != v for k, v in d.get("request", {}).items()):
                continue
            if any((r.get("query") or {}).get(k) != v for k, v in d.get("query", {}).items()):
                continue
            for path, value in d["set"].items():
                _set(r["response"], path, value)
            n += 1
    return n


def _kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if v is None:
        return "null"
    return type(v).__name__


def _free(path, key):
    if key in FREE_TEXT:
        return True
    return ("tools_needed" in path or "materials_checklist" in path) and key in ("name", "where", "item")


def mismatch(endpoint, want, got, path="$", key=None):
    """None when got matches want under the rules, else a description of the first difference."""
    if _kind(want) != _kind(got):
        return f"{path}: type {_kind(want)} vs {_kind(got)}"
    free = _free(path, key)
    if isinstance(want, dict):
        gk = [k for k in got if k in want or not (endpoint == "/diy/instructions" and path == "$"
                                                  and k in ("steps", "tools_needed", "materials_checklist"))]
        wk = list(want)
        if endpoint == "/advise/reason-upgrades":
            if sorted(gk) != sorted(wk):
                return f"{path}: keys {wk} vs {gk}"
        elif gk != wk:
            return f"{path}: keys {wk} vs {gk}"
        for k in wk:
            m = mismatch(endpoint, want[k], got[k], f"{path}.{k}", k)
            if m:
                return m
        return None
    if isinstance(want, list):
        if endpoint == "/advise/reason-upgrades" and key in ("replace", "keep", "detailed_decisions"):
            a = sorted(json.dumps(x, sort_keys=True) for x in want)
            b = sorted(json.dumps(x, sort_keys=True) for x in got)
            return None if a == b else f"{path}: sets differ {a} vs {b}"
        if len(want) != len(got):
            return f"{path}: length {len(want)} vs {len(got)}"
        for i, (w, g) in enumerate(zip(want, got)):
            m = mismatch(endpoint, w, g, f"{path}[{i}]", key if free else None)
            if m:
                return m
        return None
    if isinstance(want, str) and free:
        return None
    return None if want == got else f"{path}: {want!r} vs {got!r}"
