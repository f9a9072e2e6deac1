"""The Mesa model: builds the world from a scenario; ``step()`` only orders the phases.

Process overview (docs/ODD.md): each step

1. shocks scheduled for this step fire;
2. every organization's strategy sets its levers (from what it observed);
3. the previous state is frozen (synchronous update) and this step's uniforms
   are drawn from ``model.rng`` once, for both drivers;
4. participants perceive, climb or slip, renew or lose commitment, grow or
   forget grievance, exit, and join (per agent or vectorized: same rules,
   same numbers);
5. the model tallies each organization's community;
6. organizations collect their current and update stock and legitimacy;
7. declared reporters are collected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import numpy as np
from mesa.discrete_space import Network

from sim.config.scenario import OrganizationSpec, Scenario
from sim.errors import SimError
from sim.model import kernels, metrics, rules, vectorized
from sim.model.agents import Institution, Organization, Participant, Platform
from sim.model.network import NeighbourCounter, adjacency, build_graph
from sim.model.population import draw_population, enrol_members, seed_trigger
from sim.model.shocks import Shock, make_shock
from sim.model.strategies import make_strategy
from sim.vocabulary import ACTIVE_LEVEL, N_LEVELS, TOP_LEVEL, Level

DRIVERS = ("vectorized", "agents")
VALUES_SCALE = 2.0**40  # fixed-point scale for exact sums of values (1M participants fit in int64)


class PowerModel(mesa.Model):
    """Old power against new power on a social network.

    Args:
        scenario: a validated scenario (see :func:`sim.load_scenario`).
        rng: seed or generator; all randomness of the run comes from it.
        driver: ``"vectorized"`` (default, all participants at once) or
            ``"agents"`` (each ``Participant.step()``, the readable reference).
    """

    def __init__(self, scenario: Scenario, rng=None, driver: str = "vectorized") -> None:
        if driver not in DRIVERS:
            raise SimError(f"unknown driver {driver!r}; allowed: {', '.join(DRIVERS)}")
        super().__init__(rng=scenario.seed if rng is None else rng)
        self.spec = scenario
        self.driver = driver
        self.dynamics = scenario.dynamics
        self.unaffiliated_cap = int(Level.parse(scenario.population.unaffiliated_max_level))

        base_dir = Path(scenario.source).parent if scenario.source not in ("<dict>", "") else None
        self.graph = build_graph(scenario.network, self.rng, base_dir)
        self.adjacency = adjacency(self.graph)
        self.counter = NeighbourCounter(self.adjacency)
        self.n_participants = self.graph.number_of_nodes()
        self.space = Network(self.graph, random=self.random, layout=None)

        self.state = draw_population(self.n_participants, scenario.population, self.rng)
        self.organizations: list[Organization] = []
        # Members' summed values per group, kept up to date by move(). Fixed-point
        # integers, so the sums are exact whatever the order of joins and exits
        # (the two drivers add them up in different orders).
        self.values_fixed = np.round(self.state.values * VALUES_SCALE).astype(np.int64)
        self.values_sum = np.zeros(1, dtype=np.int64)
        for spec in scenario.organizations:
            self.add_organization(spec)
        enrol_members(
            self.state,
            list(scenario.organizations),
            [int(o.max_level) for o in self.organizations],
            scenario.population.initial_commitment,
            self.rng,
        )
        self.values_sum = np.zeros(len(self.organizations) + 1, dtype=np.int64)
        np.add.at(self.values_sum, self.state.group, self.values_fixed)
        trigger_group = self._group_named(scenario.trigger.organization)
        caps = np.array([self.unaffiliated_cap] + [int(o.max_level) for o in self.organizations])
        self.seeds = seed_trigger(
            self.state, scenario.trigger, self.counter.degree, trigger_group, caps, self.rng
        )
        self.schedule = [
            (entry, make_shock(entry.kind, entry.params, source=scenario.source, key=f"shocks.{i}"))
            for i, entry in enumerate(scenario.shocks)
        ]

        self.fade = rules.fade_rate(
            self.state.values, self.dynamics
        )  # fixed for the run: values never change
        self.participants = [Participant(self, i, self.space[i]) for i in range(self.n_participants)]
        self.prev = self.state
        self.climb_draws = np.zeros(self.n_participants, dtype=np.float32)
        self.free = np.empty(0, dtype=np.int64)
        self.join_draws = np.zeros((rules.N_JOIN_DRAWS, 0), dtype=np.float32)
        self.table = self.build_table()
        self.cascades = metrics.CascadeTracker(self.adjacency)
        self.views = vectorized.MemberViews()
        self.events: list[dict[str, Any]] = []
        self.campaigns: list[dict[str, Any]] = []
        self.tally()
        self.recorder = metrics.Recorder()
        self.recorder.collect(self)

    # ------------------------------------------------------------ the step
    def step(self) -> None:
        """One step, in the order of the process overview above."""
        for entry, shock in self.schedule:
            if entry.fires_at(self.steps):
                self.fire(shock)
        for org in self.organizations:
            org.run_strategy()
        self.table = self.build_table()
        self.draw_uniforms()
        self.prev = self.state
        if self.driver == "agents":
            self.state = self.prev.copy()
            self.state.left[:] = 0
            self.state.joined[:] = False
            self.agents_by_type[Participant].do("step")
        else:
            self.state = vectorized.step_participants(self)
        self.tally()
        for org in self.organizations:
            org.step()
        self.cascades.update(self.state.left, who=self.movers[self.state.left[self.movers] > 0])
        self.recorder.collect(self)

    def fire(self, shock: Shock) -> dict[str, Any]:
        """Apply a shock now (scheduled, or live from code or the teaching page)."""
        record = shock.apply(self)
        self.events.append({"step": self.steps, "kind": shock.kind, **record})
        self.table = self.build_table()
        self.tally()
        return record

    # ------------------------------------------------------------ helpers
    def draw_uniforms(self) -> None:
        """This step's random numbers, drawn once from ``model.rng`` for both drivers.

        One uniform per participant for climbing; three per unaffiliated
        participant (the only ones who can join), in participant order.
        """
        self.climb_draws = self.rng.random(self.n_participants, dtype=np.float32)
        self.free = np.flatnonzero(self.state.group == 0)
        self.join_draws = self.rng.random((rules.N_JOIN_DRAWS, self.free.size), dtype=np.float32)

    def join_draws_of(self, index: int) -> np.ndarray:
        """The three join uniforms of an unaffiliated participant (per-agent driver)."""
        return self.join_draws[:, int(np.searchsorted(self.free, index))]

    def add_organization(self, spec: OrganizationSpec) -> Organization:
        """Bring a new institution or platform into the world (at start, or as a rival entering)."""
        cls = Platform if spec.kind == "platform" else Institution
        strategy = make_strategy(
            spec.strategy,
            spec.strategy_params,
            source=self.spec.source,
            key=f"organizations.{spec.name}.strategy",
            allow_code=self.spec.allow_code,
        )
        org = cls(self, spec, group=len(self.organizations) + 1, strategy=strategy)
        self.organizations.append(org)
        self.values_sum = np.append(self.values_sum, np.int64(0))
        return org

    def organization_of_group(self, group: int) -> Organization | None:
        """The organization with this group number (0 means none)."""
        return self.organizations[group - 1] if group > 0 else None

    def organization(self, name: str) -> Organization:
        """The organization called ``name``."""
        for org in self.organizations:
            if org.name == name:
                return org
        raise SimError(
            f"no organization named {name!r}; "
            f"allowed: {', '.join(o.name for o in self.organizations) or '(none)'}"
        )

    def _group_named(self, name: str) -> int:
        return self.organization(name).group if name else 0

    def community_values(self, org: Organization) -> float:
        """Mean values orientation of an organization's members (its own values if it has none)."""
        if not org.n_members:
            return float(org.values)
        return float(self.values_sum[org.group] / VALUES_SCALE / org.n_members)

    def build_table(self) -> rules.OrgTable:
        """Organizations' levers as arrays, row 0 standing for "no organization"."""
        orgs, p = self.organizations, self.dynamics

        def column(values, none_value, dtype=float):
            return np.array([none_value] + list(values), dtype=dtype)

        reach = column(((o.outreach + o.ads) * o.funded for o in orgs), 0.0)
        return rules.OrgTable(
            member=column((1.0 for _ in orgs), 0.0),
            openness=column((o.openness for o in orgs), 0.0),
            values=column((o.values for o in orgs), 0.0),
            max_level=column((o.max_level for o in orgs), self.unaffiliated_cap, np.int8),
            take_rate=column((min(1.0, o.take_rate + p.structure_take * o.structure) for o in orgs), 0.0),
            visibility=column((o.visibility for o in orgs), 0.0),
            pull=column((p.model_pull * o.openness + o.mobilization * o.funded for o in orgs), 0.0),
            outreach=reach,
            reach_commitment=column(
                (float(rules.reach_commitment(o.outreach, o.ads, p.join_commitment)) for o in orgs), 0.0
            ),
        )

    def move(
        self, who: np.ndarray, target: np.ndarray, leaving: bool, commitment: np.ndarray | float | None = None
    ) -> None:
        """Change affiliation: leave (to a rival or to none) or join. Shared by both drivers.

        Leavers to none keep their grievance but lose their commitment and fall
        to the crowd's cap; joiners (and deserters to a rival) start afresh with
        a new member's commitment (or the one given, for recruits by reach), at
        most at the level their new model enables.
        """
        s, p = self.state, self.dynamics
        if leaving:
            s.left[who] = s.group[who]
        np.subtract.at(self.values_sum, s.group[who], self.values_fixed[who])
        np.add.at(self.values_sum, target, self.values_fixed[who])
        s.group[who] = target
        s.level[who] = np.minimum(s.level[who], self.table.max_level[target])
        to_org = target > 0
        joining = p.join_commitment if commitment is None else commitment
        s.commitment[who] = np.where(to_org, joining, 0.0)
        if leaving:
            s.grievance[who] = np.where(to_org, 0.0, s.grievance[who])
        s.joined[who] = to_org

    def tally(self) -> None:
        """Count each organization's community (members, active, sums) in one pass."""
        s, n_groups = self.state, len(self.organizations) + 1
        by_level = np.zeros((n_groups, N_LEVELS), dtype=np.int64)
        grievance, participation = np.zeros(n_groups), np.zeros(n_groups)
        exits, joins = np.zeros(n_groups, dtype=np.int64), np.zeros(n_groups, dtype=np.int64)
        movers = np.empty(s.size, dtype=np.int64)
        k = kernels.tally_groups(
            s.group,
            s.level,
            s.grievance,
            s.commitment,
            s.left,
            s.joined,
            by_level,
            grievance,
            participation,
            exits,
            joins,
            movers,
        )
        self.movers = movers[:k].copy()  # who left or joined in the last step
        participation /= TOP_LEVEL
        self.level_counts = by_level.sum(axis=0)
        levels = np.arange(N_LEVELS)
        for org in self.organizations:
            g = org.group
            org.n_members = int(by_level[g].sum())
            org.peak_members = max(org.peak_members, org.n_members)
            org.n_active = int(by_level[g, ACTIVE_LEVEL:].sum())
            org.level_sum = float(by_level[g] @ levels)
            org.grievance_sum = float(grievance[g])
            org.participation_sum = float(participation[g])
            org.current = float(rules.current(org.participation_sum, self.n_participants))
            org.n_exits, org.n_joins = int(exits[g]), int(joins[g])

    @property
    def active_fraction(self) -> float:
        """Share of all participants at SHARING or above."""
        return float(self.level_counts[ACTIVE_LEVEL:].sum() / self.n_participants)


__all__ = ["DRIVERS", "Institution", "Platform", "PowerModel"]
