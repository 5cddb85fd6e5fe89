"""The proposer: a date for every unfixed session of a plan, computed with OR-Tools CP-SAT. It writes nothing.

Hard: inside the window, on a working day, outside the units' blackout days, fixed dates pinned, no unit in two
places (out-of-town trips keep the travel buffer either side), the city-wide cap on delegations away per day.
Weighted heavily: 月度有活动 (city-wide, then per 板块 where its rows allow), each quarter's 主题活动 in its quarter,
series spacing. Soft: joint trips (fewest distinct destination-weeks), even load per month, the hosts' preferred
dates, few moves against the last published proposal. When the hard constraints cannot all hold, the solver's
sufficient assumptions say which ones conflict, in Chinese.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from ortools.sat.python import cp_model

from scheduler.scheduling.checker import SERIES_SPACING, THEME_TYPE, PlanSnapshot, Slot, days_of, md

W_MONTH, W_BANKUAI_MONTH, W_THEME, W_SERIES = 10_000, 2_000, 5_000, 3_000
W_DEST_WEEK, W_LOAD, W_PREFERRED, W_MOVE = 100, 20, 30, 40
SEED = 20231


class ProposalImpossible(ValueError):
    """The plan cannot be scheduled; `reasons` say why in Chinese (bad windows, or the conflicting constraints)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("；".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Proposed:
    """One session's proposed day and why."""

    key: str
    day: date
    why: str
    moved: bool = False  # differs from the last published proposal


@dataclass
class Proposal:
    """The proposer's answer with the figures the board and the bench show."""

    days: dict[str, Proposed]
    status: str
    first_feasible_s: float | None
    final_s: float
    empty_months: list[int]
    destination_weeks: int
    trips: int
    objective: float
    notes: list[str] = field(default_factory=list)


class _FirstSolution(cp_model.CpSolverSolutionCallback):
    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started
        self.first: float | None = None

    def on_solution_callback(self) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.started


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def candidate_days(snap: PlanSnapshot, slot: Slot) -> list[date]:
    """Return the days a session may take: working days of its window outside its units' blackouts."""
    banned = {d for b in snap.blackouts if b.unit in slot.units for d in days_of(b.start, b.end)}
    return [d for d in days_of(*slot.window) if snap.calendar.is_workday(d) and d not in banned]


def _label(slot: Slot) -> str:
    return f"序号 {slot.seq} 场次 {slot.key}「{slot.title}」"


def _build(snap: PlanSnapshot, domains: dict[str, list[date]], previous: Mapping[str, date],
           preferred: Mapping[str, list[date]], *, explain: bool
           ) -> tuple[cp_model.CpModel, dict[tuple[str, date], cp_model.IntVar], dict[int, str]]:
    """Build the model; with `explain`, each group of hard constraints hangs on an assumption literal (and there is
    no objective), so an infeasible model can name its conflicting groups."""
    open_slots = [s for s in snap.slots if s.days is None]
    fixed = [s for s in snap.slots if s.days is not None]
    model = cp_model.CpModel()
    x: dict[tuple[str, date], cp_model.IntVar] = {}
    for s in open_slots:
        for d in domains[s.key]:
            x[s.key, d] = model.new_bool_var(f"x_{s.key}_{d.isoformat()}")
    assumptions: dict[int, str] = {}
    literals: list[cp_model.IntVar] = []

    def guard(text: str) -> list[cp_model.IntVar]:
        """Return the enforcement literals of a named group of hard constraints ([] unless explaining)."""
        if not explain:
            return []
        lit = model.new_bool_var(f"a{len(assumptions)}")
        assumptions[lit.index] = text
        literals.append(lit)
        return [lit]

    for s in open_slots:
        model.add(sum(x[s.key, d] for d in domains[s.key]) == 1).only_enforce_if(
            guard(f"{_label(s)}须在窗口内的工作日举办"))

    buffer = snap.rules.travel_buffer_days
    # occupancy[unit][day] = terms that make `unit` busy on `day` (a trip's buffer days included)
    occupancy: dict[str, dict[date, list[cp_model.IntVar]]] = defaultdict(lambda: defaultdict(list))
    constant: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for s in open_slots:
        pad = buffer if s.away else 0
        for d in domains[s.key]:
            for t in days_of(d - timedelta(days=pad), d + timedelta(days=pad)):
                for u in s.units:
                    occupancy[u][t].append(x[s.key, d])
    for s in fixed:
        assert s.days is not None
        pad = buffer if s.away else 0
        for t in days_of(s.days[0] - timedelta(days=pad), s.days[1] + timedelta(days=pad)):
            for u in s.units:
                constant[u][t] += 1
    for u in sorted(occupancy):
        lit = guard(f"{snap.name(u)}同一天只能参加一场活动（外出前后各留 {buffer} 天）")
        for t, terms in occupancy[u].items():
            if len(terms) + constant[u][t] > 1:
                model.add(sum(terms) <= max(0, 1 - constant[u][t])).only_enforce_if(lit)

    cap = snap.rules.away_cap
    away_by_day: dict[date, list[cp_model.IntVar]] = defaultdict(list)
    for s in open_slots:
        if s.away:
            for d in domains[s.key]:
                away_by_day[d].append(x[s.key, d])
    fixed_away: dict[date, int] = defaultdict(int)
    for s in fixed:
        if s.away and s.days:
            for d in days_of(*s.days):
                fixed_away[d] += 1
    cap_lit = guard(f"全市同一天外出团组不超过 {cap} 个")
    for d, terms in away_by_day.items():
        if len(terms) + fixed_away[d] > cap:
            model.add(sum(terms) <= max(0, cap - fixed_away[d])).only_enforce_if(cap_lit)

    objective: list[cp_model.LinearExprT] = []
    months = range(1, 13)
    in_month: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for (_key, d), var in x.items():
        if d.year == snap.year:
            in_month[d.month].append(var)
    fixed_months = {s.days[0].month for s in fixed if s.days and s.days[0].year == snap.year}
    for m in months:
        if m in fixed_months or not in_month[m]:
            continue
        y = model.new_bool_var(f"month_{m}")
        model.add(sum(in_month[m]) >= 1).only_enforce_if(y)
        objective.append(W_MONTH * y)
    for b in sorted(snap.bankuai):
        mine = [s for s in open_slots if b in s.hosts]
        done = {s.days[0].month for s in fixed if b in s.hosts and s.days and s.days[0].year == snap.year}
        for m in months:
            terms = [x[s.key, d] for s in mine for d in domains[s.key] if d.year == snap.year and d.month == m]
            if m in done or not terms:
                continue
            y = model.new_bool_var(f"bk_{b}_{m}")
            model.add(sum(terms) >= 1).only_enforce_if(y)
            objective.append(W_BANKUAI_MONTH * y)
    for s in open_slots:
        if s.event_type == THEME_TYPE:
            outside = [x[s.key, d] for d in domains[s.key]
                       if d.year != snap.year or (d.month - 1) // 3 + 1 != s.quarter]
            objective.extend(-W_THEME * v for v in outside)
    day_index: dict[str, cp_model.IntVar | int] = {}
    base = date(snap.year, 1, 1)
    for s in snap.slots:
        if s.days is not None:
            day_index[s.key] = (s.days[0] - base).days
        elif s.series:  # only series spacing needs the day as a number
            offsets = [(d - base).days for d in domains[s.key]]
            var = model.new_int_var(min(offsets), max(offsets), f"day_{s.key}")
            model.add(var == sum(o * x[s.key, d] for o, d in zip(offsets, domains[s.key], strict=True)))
            day_index[s.key] = var
    series: dict[str, list[Slot]] = defaultdict(list)
    for s in snap.slots:
        if s.series:
            series[s.series].append(s)
    lo, hi = SERIES_SPACING
    for members in series.values():
        members.sort(key=lambda s: (s.days or s.window)[0])
        for first, second in itertools.pairwise(members):
            if first.days is not None and second.days is not None:
                continue
            ok = model.new_bool_var(f"spacing_{first.key}_{second.key}")
            gap = day_index[second.key] - day_index[first.key]
            model.add(gap >= lo).only_enforce_if(ok)
            model.add(gap <= hi).only_enforce_if(ok)
            objective.append(W_SERIES * ok)
    trips = [s for s in snap.slots if s.away]
    dest_weeks: dict[tuple[str, date], list[cp_model.IntVar]] = defaultdict(list)
    fixed_dest_weeks = {(s.destination, _week(s.days[0])) for s in trips if s.days}
    for s in trips:
        if s.days is None:
            assert s.destination is not None
            for d in domains[s.key]:
                dest_weeks[s.destination, _week(d)].append(x[s.key, d])
    for (dest, week), terms in sorted(dest_weeks.items()):
        if (dest, week) in fixed_dest_weeks:
            continue
        z = model.new_bool_var(f"dw_{dest}_{week}")
        for v in terms:
            model.add_implication(v, z)
        objective.append(-W_DEST_WEEK * z)
    peak = model.new_int_var(0, len(snap.slots), "peak")
    for m in months:
        model.add(sum(in_month[m]) + sum(1 for s in fixed if s.days and s.days[0].month == m) <= peak)
    objective.append(-W_LOAD * peak)
    for s in open_slots:
        wanted = set(preferred.get(s.key, ()))
        objective.extend(W_PREFERRED * x[s.key, d] for d in domains[s.key] if d in wanted)
        if s.key in previous and (s.key, previous[s.key]) in x:
            objective.append(W_MOVE * x[s.key, previous[s.key]])
    if explain:
        model.add_assumptions(literals)
        return model, x, assumptions
    model.maximize(sum(objective))
    hints = greedy_days(snap, domains) | {k: d for k, d in previous.items() if (k, d) in x}
    for key, d in hints.items():  # a feasible start at once; the last proposal kept where it still fits
        model.add_hint(x[key, d], 1)

    return model, x, assumptions


def propose(snap: PlanSnapshot, *, previous: Mapping[str, date] | None = None,
            preferred: Mapping[str, list[date]] | None = None, time_limit: float = 4.0,
            workers: int = 1, work_limit: float | None = None) -> Proposal:
    """Propose a day for every unfixed session; raise ProposalImpossible with Chinese reasons when none exists.

    `work_limit` bounds the solver's deterministic time: with one worker, the same input then gives the same
    proposal however loaded the machine is (a wall-clock limit alone cannot promise that)."""
    started = time.perf_counter()
    previous, preferred = dict(previous or {}), dict(preferred or {})
    open_slots = [s for s in snap.slots if s.days is None]
    if not open_slots:
        raise ProposalImpossible([f"计划 {snap.year} 年没有待定档的场次（共 {len(snap.slots)} 场，均已定档）"
                                  if snap.slots else "计划中没有任何场次"])
    domains = {s.key: candidate_days(snap, s) for s in open_slots}
    empty = [f"{_label(s)}的窗口 {s.window[0]}–{s.window[1]} 内没有可安排的工作日（已扣除节假日和单位不可安排日期）"
             for s in open_slots if not domains[s.key]]
    if empty:
        raise ProposalImpossible(empty)

    model, x, _ = _build(snap, domains, previous, preferred, explain=False)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = SEED
    # One presolve pass without probing: on a province-sized plan full presolve alone takes longer than the search.
    solver.parameters.max_presolve_iterations = 1
    solver.parameters.cp_model_probing_level = 0
    if work_limit is not None:
        solver.parameters.max_deterministic_time = work_limit
    callback = _FirstSolution(started)
    status = solver.solve(model, callback)
    if status == cp_model.INFEASIBLE:
        core = _explain(snap, domains, time_limit)
        raise ProposalImpossible(["以下约束无法同时满足：" + "；".join(dict.fromkeys(core)) if core else
                                  "约束无法同时满足"])
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise ProposalImpossible([f"在 {time_limit:g} 秒内未找到可行排期，请放宽规则或延长时限"])
    chosen = {s.key: next(d for d in domains[s.key] if solver.value(x[s.key, d])) for s in open_slots}
    return _summarise(snap, chosen, previous, solver.status_name(status), callback.first,
                      time.perf_counter() - started, solver.objective_value)


def _explain(snap: PlanSnapshot, domains: dict[str, list[date]], time_limit: float) -> list[str]:
    """Re-solve with assumptions and return the names of a set of hard-constraint groups that cannot all hold."""
    model, _, assumptions = _build(snap, domains, {}, {}, explain=True)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 1
    if solver.solve(model) != cp_model.INFEASIBLE:
        return []
    found = solver.sufficient_assumptions_for_infeasibility()
    return list(dict.fromkeys(assumptions[i] for i in found if i in assumptions))


def greedy_days(snap: PlanSnapshot, domains: Mapping[str, list[date]] | None = None) -> dict[str, date]:
    """Place sessions one by one on the earliest day where no unit is busy and the city cap holds (the solver's
    starting hint and the bench's baseline); sessions that find no such day are left out."""
    pad = snap.rules.travel_buffer_days
    busy: dict[str, set[date]] = defaultdict(set)
    away: dict[date, int] = defaultdict(int)
    for s in snap.slots:
        if s.days is not None:
            p = pad if s.away else 0
            span = set(days_of(s.days[0] - timedelta(days=p), s.days[1] + timedelta(days=p)))
            for u in s.units:
                busy[u] |= span
            if s.away:
                for d in days_of(*s.days):
                    away[d] += 1
    out: dict[str, date] = {}
    for s in sorted((s for s in snap.slots if s.days is None), key=lambda s: (s.window[1], s.key)):
        for d in (domains[s.key] if domains is not None else candidate_days(snap, s)):
            span = set(days_of(d - timedelta(days=pad), d + timedelta(days=pad))) if s.away else {d}
            if (s.away and away[d] >= snap.rules.away_cap) or any(busy[u] & span for u in s.units):
                continue
            out[s.key] = d
            for u in s.units:
                busy[u] |= span
            if s.away:
                away[d] += 1
            break
    return out


def _summarise(snap: PlanSnapshot, chosen: dict[str, date], previous: Mapping[str, date], status: str,
               first: float | None, final: float, objective: float) -> Proposal:
    day_of = {s.key: (s.days[0] if s.days else chosen[s.key]) for s in snap.slots}
    by_key = {s.key: s for s in snap.slots}
    months = {d.month for d in day_of.values() if d.year == snap.year}
    trips = [s for s in snap.slots if s.away]
    weeks = {(s.destination, _week(day_of[s.key])) for s in trips}
    out: dict[str, Proposed] = {}
    for key, day in chosen.items():
        slot = by_key[key]
        mates = [by_key[k] for k in day_of if k != key and by_key[k].away and slot.away
                 and by_key[k].destination == slot.destination and _week(day_of[k]) == _week(day)]
        if mates:
            hosts = "、".join(dict.fromkeys(snap.name(h) for m in mates for h in m.hosts if h not in slot.hosts))
            why = f"与{hosts}同周赴{slot.destination}，可联合组团" if hosts else f"同周赴{slot.destination}"
        elif sum(1 for k, d in day_of.items() if d.month == day.month and d.year == day.year) == 1:
            why = f"{day.month}月尚无其他活动（月度有活动）"
        else:
            why = "窗口内的工作日，相关单位当天没有其他安排"
        out[key] = Proposed(key, day, f"建议 {md(day)}：{why}", moved=key in previous and previous[key] != day)
    return Proposal(days=out, status=status, first_feasible_s=first, final_s=final,
                    empty_months=[m for m in range(1, 13) if m not in months], destination_weeks=len(weeks),
                    trips=len(trips), objective=objective)
