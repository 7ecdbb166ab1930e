"""The segment library: saved segments and versions, the clarification log and eval runs.

SQLite in WAL mode: transactional saves that survive a killed writer, and several processes
(app, CLI, tests) reading while one writes.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel

from core.diff import SegmentDiff, diff_segments
from core.errors import WorkbenchError
from core.segment import Segment

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
  description TEXT DEFAULT '', archived INTEGER DEFAULT 0, latest INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, UNIQUE (tenant_id, name));
CREATE TABLE IF NOT EXISTS versions (segment_id INTEGER NOT NULL REFERENCES segments(id), n INTEGER NOT NULL,
  spec TEXT NOT NULL, request TEXT DEFAULT '', trace TEXT DEFAULT '[]', dryrun TEXT DEFAULT 'null',
  author TEXT DEFAULT '', note TEXT DEFAULT '', saved_at TEXT NOT NULL, PRIMARY KEY (segment_id, n));
CREATE TABLE IF NOT EXISTS clarifications (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, request TEXT,
  question TEXT, options TEXT, answer TEXT, segment TEXT, asked_at TEXT NOT NULL, reviewed INTEGER DEFAULT 0,
  comment TEXT DEFAULT '', reviewer TEXT DEFAULT '');
CREATE TABLE IF NOT EXISTS turns (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, request TEXT, asked INTEGER,
  at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS turn_traces (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, request TEXT,
  status TEXT, trace TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS eval_runs (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, policy TEXT,
  metrics TEXT, rows TEXT, at TEXT NOT NULL);
"""


class SaveConflict(WorkbenchError):
    """Someone saved a newer version since this editor started; both versions are attached."""

    def __init__(self, theirs: "SavedVersion", yours: Segment) -> None:
        self.theirs, self.yours = theirs, yours
        super().__init__(f"'{theirs.name}' was saved as version {theirs.n} by {theirs.author or 'someone'} at "
                         f"{theirs.saved_at} after you opened it. Compare both, then save as a new version or under a new name.")


class SegmentSummary(BaseModel):
    id: int
    tenant_id: str
    name: str
    description: str
    archived: bool
    latest: int
    created_at: str
    render: str = ""
    status: Literal["ok", "needs_repair"] = "ok"
    problem: str = ""  # what no longer compiles, for a needs_repair segment


class SavedVersion(BaseModel):
    segment_id: int
    name: str
    n: int
    spec: Any
    request: str = ""
    trace: Any = None
    dryrun: Any = None
    author: str = ""
    note: str = ""
    saved_at: str

    @property
    def segment(self) -> Segment:
        return Segment.from_spec(self.spec)

    @property
    def reach(self) -> dict[str, int]:
        """Customers reachable per channel when this version was saved (from its dry-run)."""
        rows = self.dryrun.get("reach") if isinstance(self.dryrun, dict) else None
        return {r["channel"]: int(r["count"]) for r in rows or []}


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


class StoreError(WorkbenchError):
    """The library file cannot be used (damaged, not a database, locked); the message says what to do."""


def _guarded(method: Callable) -> Callable:
    """Turn SQLite failures into a StoreError that names the file and the remedy."""
    @functools.wraps(method)
    def run(self: "Store", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(f"The segment library {self.path} is busy (another process holds a write lock); "
                                 "wait a moment and retry.") from None
            raise self._damaged(exc) from None
        except (sqlite3.DatabaseError, json.JSONDecodeError) as exc:
            raise self._damaged(exc) from None
    return run


class Store:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._ready = False  # the schema is checked on first use, so a damaged file never stops a page loading

    def _damaged(self, exc: Exception) -> StoreError:
        return StoreError(f"The segment library {self.path} is damaged ({exc}). Saved segments cannot be read from it. "
                          f"Move it aside (mv {self.path} {self.path}.damaged) to start an empty library, "
                          "or restore it from a backup.")

    @_guarded
    def check(self) -> None:
        """Open the library (creating it when absent); StoreError when it is damaged."""
        self._con()

    def _setup(self, con: sqlite3.Connection) -> None:
        if self.path.is_dir():
            raise StoreError(f"The segment library path {self.path} is a folder; set SEGWORK_STORE to a file path.")
        con.executescript(SCHEMA)  # executescript manages its own transaction
        cols = {r["name"] for r in con.execute("PRAGMA table_info(clarifications)")}
        if "trace_id" not in cols:  # stores made before turn traces were kept
            con.execute("ALTER TABLE clarifications ADD COLUMN trace_id INTEGER")
        con.execute("PRAGMA quick_check(1)").fetchone()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            if self.path.is_dir():
                raise StoreError(f"The segment library path {self.path} is a folder; set SEGWORK_STORE to a file path.")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            try:
                con.row_factory = sqlite3.Row
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=NORMAL")
                if not self._ready:
                    self._setup(con)
                    self._ready = True
            except BaseException:
                con.close()
                raise
            self._local.con = con
        return con

    class _Tx:
        def __init__(self, con: sqlite3.Connection) -> None:
            self.con = con

        def __enter__(self) -> sqlite3.Connection:
            self.con.execute("BEGIN IMMEDIATE")
            return self.con

        def __exit__(self, exc_type, *_: object) -> None:
            self.con.execute("ROLLBACK" if exc_type else "COMMIT")

    def _tx(self) -> "Store._Tx":
        return Store._Tx(self._con())

    # ---- segments --------------------------------------------------------------------------
    def save_segment(self, tenant_id: str, name: str, segment: Segment, *, description: str = "", request: str = "",
                     trace: Any = None, dryrun: Any = None, author: str = "", base_version: int | None = None,
                     force: bool = False, note: str = "") -> SavedVersion:
        """Save a new version; a newer stored version than `base_version` raises SaveConflict."""
        name = name.strip()
        if not name:
            raise WorkbenchError("Give the segment a name before saving.")
        with self._tx() as con:
            row = con.execute("SELECT * FROM segments WHERE tenant_id=? AND name=?", (tenant_id, name)).fetchone()
            if row is None:
                cur = con.execute("INSERT INTO segments(tenant_id, name, description, latest, created_at) VALUES (?,?,?,0,?)",
                                  (tenant_id, name, description, _now()))
                seg_id, latest = cur.lastrowid, 0
            else:
                seg_id, latest = row["id"], row["latest"]
                if base_version is not None and base_version > latest:
                    raise WorkbenchError(f"'{name}' has no version {base_version} (the latest is {latest}); "
                                         "reopen the segment from the library and save again.")
                if not force and latest and (base_version or 0) < latest:
                    theirs = self._version(con, seg_id, latest)
                    raise SaveConflict(theirs, segment)
            n = latest + 1
            con.execute("INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?)",
                        (seg_id, n, json.dumps(segment.spec()), request, json.dumps(trace, default=str),
                         json.dumps(dryrun, default=str), author, note, _now()))
            con.execute("UPDATE segments SET latest=?, description=COALESCE(NULLIF(?, ''), description) WHERE id=?",
                        (n, description, seg_id))
            return self._version(con, seg_id, n)

    def _version(self, con: sqlite3.Connection, seg_id: int, n: int) -> SavedVersion:
        r = con.execute("SELECT v.*, s.name FROM versions v JOIN segments s ON s.id=v.segment_id "
                        "WHERE segment_id=? AND n=?", (seg_id, n)).fetchone()
        if r is None:
            raise WorkbenchError(f"Segment {seg_id} has no version {n}.")
        return SavedVersion(segment_id=seg_id, name=r["name"], n=n, spec=json.loads(r["spec"]), request=r["request"],
                            trace=json.loads(r["trace"]), dryrun=json.loads(r["dryrun"]), author=r["author"],
                            note=r["note"], saved_at=r["saved_at"])

    def get_version(self, segment_id: int, n: int | None = None, tenant_id: str | None = None) -> SavedVersion:
        """A saved version (the latest by default); with tenant_id, only that tenant's segments are found."""
        con = self._con()
        row = con.execute("SELECT latest, tenant_id FROM segments WHERE id=?", (segment_id,)).fetchone()
        if row is None or (tenant_id is not None and row["tenant_id"] != tenant_id):
            raise WorkbenchError(f"No saved segment {segment_id}" + (f" for tenant {tenant_id}" if tenant_id else "")
                                 + "; pick one from the library.")
        return self._version(con, segment_id, row["latest"] if n is None else n)

    def versions(self, segment_id: int) -> list[SavedVersion]:
        ns = [r["n"] for r in self._con().execute("SELECT n FROM versions WHERE segment_id=? ORDER BY n", (segment_id,))]
        return [self._version(self._con(), segment_id, n) for n in ns]

    def list_segments(self, tenant_id: str, query: str = "", include_archived: bool = False,
                      tenant: Any = None) -> list[SegmentSummary]:
        """A tenant's saved segments; with the tenant, each is compiled and one that fails is marked needs_repair."""
        sql = "SELECT * FROM segments WHERE tenant_id=?" + ("" if include_archived else " AND archived=0")
        rows = self._con().execute(sql + " ORDER BY name", (tenant_id,)).fetchall()
        out = []
        for r in rows:
            text, problem = self._latest_text(r, tenant)
            if query and query.lower() not in f"{r['name']} {r['description']} {text}".lower():
                continue
            out.append(SegmentSummary(id=r["id"], tenant_id=r["tenant_id"], name=r["name"], description=r["description"],
                                      archived=bool(r["archived"]), latest=r["latest"], created_at=r["created_at"],
                                      render=text, status="needs_repair" if problem else "ok", problem=problem))
        return out

    def _latest_text(self, row: sqlite3.Row, tenant: Any) -> tuple[str, str]:
        """(rendered latest version, why it needs repair or "")."""
        if not row["latest"]:
            return "", ""
        try:
            seg = self._version(self._con(), row["id"], row["latest"]).segment
        except (WorkbenchError, json.JSONDecodeError, ValueError) as exc:
            return "(unreadable)", f"version {row['latest']} cannot be read: {exc}"
        lookup = lambda i: self.get_version(i).segment  # noqa: E731 - saved-segment rules resolve to current versions
        return seg.render(), (repair_problem(seg, tenant, lookup, row["id"]) if tenant is not None else "")

    def archive(self, segment_id: int, archived: bool = True) -> None:
        with self._tx() as con:
            con.execute("UPDATE segments SET archived=? WHERE id=?", (int(archived), segment_id))

    def duplicate(self, segment_id: int, new_name: str, author: str = "") -> SavedVersion:
        v = self.get_version(segment_id)
        tenant = self._con().execute("SELECT tenant_id FROM segments WHERE id=?", (segment_id,)).fetchone()["tenant_id"]
        return self.save_segment(tenant, new_name, v.segment, request=v.request, author=author, note=f"copy of {v.name} v{v.n}")

    def diff_versions(self, segment_id: int, a: int, b: int) -> SegmentDiff:
        return diff_segments(self.get_version(segment_id, a).segment, self.get_version(segment_id, b).segment)

    def segments_using_deprecated(self, tenant) -> list[tuple[SegmentSummary, list[str]]]:
        """Saved segments of a tenant whose latest version uses a facet the catalog now deprecates."""
        out = []
        for summary in self.list_segments(tenant.id):
            try:
                seg = self.get_version(summary.id).segment
            except WorkbenchError:  # unreadable: listed as needs_repair instead
                continue
            old = sorted({c.facet for c in seg.all_conditions()
                          if (f := tenant.catalog.get(c.facet)) is not None and f.deprecated})
            if old:
                out.append((summary, old))
        return out

    def migrate_deprecated(self, segment_id: int, tenant, author: str = "") -> SavedVersion:
        """A new version with every deprecated facet replaced by its replacement (and the rules re-applied)."""
        from core.rules import autofix

        latest = self.get_version(segment_id)
        fixed, notes = autofix(latest.segment, tenant)
        return self.save_segment(tenant.id, latest.name, fixed, request=latest.request, author=author,
                                 base_version=latest.n, note="migrated: " + "; ".join(notes))

    # ---- clarifications, turns, eval runs ----------------------------------------------------
    def log_clarification(self, tenant_id: str, request: str, question: str, options: list[str], answer: str,
                          segment: Segment | None = None, trace_id: int | None = None) -> int:
        with self._tx() as con:
            cur = con.execute("INSERT INTO clarifications(tenant_id, request, question, options, answer, segment, asked_at, "
                              "trace_id) VALUES (?,?,?,?,?,?,?,?)",
                              (tenant_id, request, question, json.dumps(options), answer,
                               json.dumps(segment.spec()) if segment else None, _now(), trace_id))
            return cur.lastrowid

    def list_clarifications(self, tenant_id: str | None = None, reviewed: bool | None = None) -> list[dict]:
        sql, args = "SELECT * FROM clarifications WHERE 1=1", []
        if tenant_id:
            sql, args = sql + " AND tenant_id=?", [*args, tenant_id]
        if reviewed is not None:
            sql, args = sql + " AND reviewed=?", [*args, int(reviewed)]
        return [dict(r) for r in self._con().execute(sql + " ORDER BY asked_at DESC", args)]

    def mark_reviewed(self, clarification_id: int, comment: str = "", reviewer: str = "") -> None:
        with self._tx() as con:
            con.execute("UPDATE clarifications SET reviewed=1, comment=?, reviewer=? WHERE id=?", (comment, reviewer, clarification_id))

    def log_turn(self, tenant_id: str, request: str, asked: bool) -> None:
        with self._tx() as con:
            con.execute("INSERT INTO turns(tenant_id, request, asked, at) VALUES (?,?,?,?)", (tenant_id, request, int(asked), _now()))

    def log_trace(self, tenant_id: str, request: str, status: str, trace: dict) -> int:
        """Keep one turn's trace (saved or not); the id is what `segwork trace ID` prints."""
        with self._tx() as con:
            cur = con.execute("INSERT INTO turn_traces(tenant_id, request, status, trace, at) VALUES (?,?,?,?,?)",
                              (tenant_id, request, status, json.dumps(trace, default=str), _now()))
            return cur.lastrowid

    def get_trace(self, trace_id: int, tenant_id: str | None = None) -> dict:
        """A kept turn trace: {id, tenant_id, request, status, trace, at}."""
        r = self._con().execute("SELECT * FROM turn_traces WHERE id=?", (trace_id,)).fetchone()
        if r is None or (tenant_id and r["tenant_id"] != tenant_id):
            raise WorkbenchError(f"No trace {trace_id}" + (f" for tenant {tenant_id}" if tenant_id else "") +
                                 "; trace ids are shown on the Clarifications page and after each turn.")
        return {**dict(r), "trace": json.loads(r["trace"])}

    def clarification_rate_by_day(self, tenant_id: str) -> list[tuple[str, int, int]]:
        """(day, turns that asked, turns) per day."""
        rows = self._con().execute("SELECT substr(at, 1, 10) AS day, sum(asked), count(*) FROM turns WHERE tenant_id=? "
                                   "GROUP BY day ORDER BY day", (tenant_id,))
        return [(r[0], int(r[1]), int(r[2])) for r in rows]

    def get_eval_run(self, run_id: int) -> dict:
        r = self._con().execute("SELECT * FROM eval_runs WHERE id=?", (run_id,)).fetchone()
        if r is None:
            raise WorkbenchError(f"No eval run {run_id}.")
        return {**dict(r), "metrics": json.loads(r["metrics"]), "rows": json.loads(r["rows"])}

    def save_eval_run(self, tenant_id: str, policy: str, metrics: dict, rows: list[dict]) -> int:
        with self._tx() as con:
            cur = con.execute("INSERT INTO eval_runs(tenant_id, policy, metrics, rows, at) VALUES (?,?,?,?,?)",
                              (tenant_id, policy, json.dumps(metrics), json.dumps(rows, default=str), _now()))
            return cur.lastrowid

    def list_eval_runs(self, tenant_id: str) -> list[dict]:
        rows = self._con().execute("SELECT id, policy, metrics, at FROM eval_runs WHERE tenant_id=? ORDER BY id DESC", (tenant_id,))
        return [{**dict(r), "metrics": json.loads(r["metrics"])} for r in rows]

    # ---- workbench: autosaved drafts, tags -----------------------------------------------------
    _WORKBENCH_SCHEMA = """
    CREATE TABLE IF NOT EXISTS drafts (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, state TEXT NOT NULL,
      saved_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS segment_tags (segment_id INTEGER NOT NULL REFERENCES segments(id), tag TEXT NOT NULL,
      PRIMARY KEY (segment_id, tag));
    """

    def _workbench_tables(self) -> sqlite3.Connection:
        con = self._con()
        if not getattr(self._local, "workbench_tables", False):
            con.executescript(self._WORKBENCH_SCHEMA)
            self._local.workbench_tables = True
        return con

    def autosave_draft(self, draft_id: str, tenant_id: str, state: dict) -> None:
        """Keep a browser's draft and chat (JSON-able dict) under its id, replacing the last copy."""
        self._workbench_tables()
        with self._tx() as con:
            con.execute("INSERT INTO drafts VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE SET tenant_id=excluded.tenant_id, "
                        "state=excluded.state, saved_at=excluded.saved_at", (draft_id, tenant_id, json.dumps(state, default=str), _now()))

    def load_draft(self, draft_id: str) -> tuple[str, dict] | None:
        """(tenant id, state) of an autosaved draft, or None."""
        r = self._workbench_tables().execute("SELECT tenant_id, state FROM drafts WHERE id=?", (draft_id,)).fetchone()
        return (r["tenant_id"], json.loads(r["state"])) if r else None

    def set_tags(self, segment_id: int, tags: list[str]) -> list[str]:
        clean = sorted({t.strip().lower() for t in tags if t.strip()})
        self._workbench_tables()
        with self._tx() as con:
            con.execute("DELETE FROM segment_tags WHERE segment_id=?", (segment_id,))
            con.executemany("INSERT INTO segment_tags VALUES (?,?)", [(segment_id, t) for t in clean])
        return clean

    def tags(self, segment_id: int) -> list[str]:
        rows = self._workbench_tables().execute("SELECT tag FROM segment_tags WHERE segment_id=? ORDER BY tag", (segment_id,))
        return [r["tag"] for r in rows]

    def segment_id(self, tenant_id: str, name: str) -> int | None:
        r = self._con().execute("SELECT id FROM segments WHERE tenant_id=? AND name=?", (tenant_id, name.strip())).fetchone()
        return r["id"] if r else None

    def free_name(self, tenant_id: str, name: str) -> str:
        """`name`, or `name (copy)`, `name (copy 2)`... the first one not taken."""
        candidates = [name.strip()] + [f"{name.strip()} (copy{'' if i == 1 else f' {i}'})" for i in range(1, 100)]
        return next(c for c in candidates if self.segment_id(tenant_id, c) is None)


def repair_problem(segment: Segment, tenant: Any, lookup: Any = None, own_id: int | None = None) -> str:
    """Why a saved segment no longer works with the tenant's current catalog ("" when it compiles)."""
    from core.segment import check_segment, resolve_members
    from core.sqlbuild import segment_predicate

    if lookup is not None:
        try:
            segment = resolve_members(segment, lookup, (own_id,) if own_id is not None else ())
        except WorkbenchError as exc:
            return str(exc)

    problems = check_segment(segment, tenant.catalog)
    deprecated_only = all("deprecated" in p for p in problems)
    if problems and not deprecated_only:
        return "; ".join(problems[:3])
    try:
        segment_predicate(segment, tenant)
    except WorkbenchError as exc:
        return str(exc)
    return ""


for _name, _fn in list(vars(Store).items()):
    if callable(_fn) and not _name.startswith("_") and _name != "check":
        setattr(Store, _name, _guarded(_fn))


def get_store(path: Path) -> Store:
    return Store(path)
