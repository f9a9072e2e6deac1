"""The Mesa model: builds the world from a scenario; ``step()`` only orders the phases.

Process overview (docs/ODD.md): each step

1. the previous state is frozen (synchronous update) and one block of uniforms
   is drawn from ``model.rng`` for all participants;
2. participants perceive, climb or slip, renew or lose commitment, grow or
   forget grievance, exit, and join (per agent or vectorized: same rules,
   same numbers);
3. the model tallies each organization's community;
4. organizations collect their current and update stock and legitimacy;
5. declared reporters are collected.
"""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np
from mesa.discrete_space import Network

from . import metrics, rules, vectorized
from .agents import Institution, Organization, Participant, Platform, default_max_level  # noqa: F401
from .errors import SimError
from .network import NeighbourCounter, adjacency, build_graph
from .population import draw_population, enrol_members, seed_trigger
from .scenario import Scenario
from .states import ACTIVE_LEVEL, N_LEVELS, Level

DRIVERS = ("vectorized", "agents")


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
        for spec in scenario.organizations:
            self.add_organization(spec)
        enrol_members(self.state, list(scenario.organizations),
                      [int(o.max_level) for o in self.organizations],
                      scenario.population.initial_commitment, self.rng)
        trigger_group = self._group_named(scenario.trigger.organization)
        self.seeds = seed_trigger(self.state, scenario.trigger, self.counter.degree, trigger_group, self.rng)

        self.participants = [Participant(self, i, self.space[i]) for i in range(self.n_participants)]
        self.prev = self.state
        self.draws = np.zeros((rules.N_DRAWS, self.n_participants), dtype=np.float32)
        self.table = self.build_table()
        self.cascades = metrics.CascadeTracker(self.adjacency)
        self.tally()
        self.datacollector = metrics.make_datacollector()
        self.datacollector.collect(self)

    # ------------------------------------------------------------ the step
    def step(self) -> None:
        """One step: participants (per the driver), tally, organizations, data."""
        self.table = self.build_table()
        self.draws = self.rng.random((rules.N_DRAWS, self.n_participants), dtype=np.float32)
        if self.driver == "agents":
            self.prev = self.state
            self.state = self.prev.copy()
            self.state.exited[:] = False
            self.state.joined[:] = False
            self.agents_by_type[Participant].do("step")
        else:
            self.prev = self.state
            self.state = vectorized.step_participants(self)
        self.tally()
        for org in self.organizations:
            org.step()
        self.cascades.update(self.state.exited, self.prev.group)
        self.datacollector.collect(self)

    # ------------------------------------------------------------ helpers
    def add_organization(self, spec) -> Organization:
        """Bring a new institution or platform into the world (at start, or as a rival entering)."""
        cls = Platform if spec.kind == "platform" else Institution
        org = cls(self, spec, group=len(self.organizations) + 1)
        self.organizations.append(org)
        return org

    def organization_of_group(self, group: int) -> Organization | None:
        """The organization with this group number (0 means none)."""
        return self.organizations[group - 1] if group > 0 else None

    def _group_named(self, name: str) -> int:
        for org in self.organizations:
            if org.name == name:
                return org.group
        return 0

    def build_table(self) -> rules.OrgTable:
        """Organizations' levers as arrays, row 0 standing for "no organization"."""
        orgs = self.organizations

        def column(attr, none_value, dtype=float):
            return np.array([none_value] + [getattr(o, attr) for o in orgs], dtype=dtype)

        return rules.OrgTable(
            openness=column("openness", 0.0),
            values=column("values", 0.0),
            max_level=column("max_level", self.unaffiliated_cap, np.int8),
            take_rate=column("take_rate", 0.0),
            visibility=np.array([0.0] + [o.visibility for o in orgs]),
            pull=np.array([0.0] + [self.dynamics.model_pull * o.openness + o.mobilization * o.funded
                                   for o in orgs]),
            outreach=np.array([0.0] + [o.outreach * o.funded for o in orgs]),
        )

    def move(self, who: np.ndarray, target: np.ndarray, exited: bool) -> None:
        """Change affiliation: leave (to a rival or to none) or join. Shared by both drivers.

        Leavers to none keep their grievance but lose their commitment and fall
        to the crowd's cap; joiners (and deserters to a rival) start afresh with
        a new member's commitment, at most at the level their new model enables.
        """
        s, p = self.state, self.dynamics
        cap = self.table.max_level[target]
        s.group[who] = target
        s.level[who] = np.minimum(s.level[who], cap)
        to_org = target > 0
        s.commitment[who] = np.where(to_org, p.join_commitment, 0.0)
        if exited:
            s.grievance[who] = np.where(to_org, 0.0, s.grievance[who])
            s.exited[who] = True
        s.joined[who] = to_org

    def tally(self) -> None:
        """Count each organization's community (members, active, sums) in one pass."""
        s, n_groups = self.state, len(self.organizations) + 1
        key = s.group.astype(np.int64) * N_LEVELS + s.level
        by_level = np.bincount(key, minlength=n_groups * N_LEVELS).reshape(n_groups, N_LEVELS)
        self.level_counts = by_level.sum(axis=0)
        grievance = np.bincount(s.group, weights=s.grievance, minlength=n_groups)
        participation = np.bincount(s.group, weights=s.level * s.commitment, minlength=n_groups) / 5.0
        exits = np.bincount(self.prev.group[s.exited], minlength=n_groups)
        joins = np.bincount(s.group[s.joined], minlength=n_groups)
        levels = np.arange(N_LEVELS)
        for org in self.organizations:
            g = org.group
            org.n_members = int(by_level[g].sum())
            org.n_active = int(by_level[g, ACTIVE_LEVEL:].sum())
            org.level_sum = float(by_level[g] @ levels)
            org.grievance_sum = float(grievance[g])
            org.participation_sum = float(participation[g])
            org.mean_level = org.level_sum / org.n_members if org.n_members else 0.0
            org.mean_grievance = org.grievance_sum / org.n_members if org.n_members else 0.0
            org.n_exits, org.n_joins = int(exits[g]), int(joins[g])

    @property
    def active_fraction(self) -> float:
        """Share of all participants at SHARING or above."""
        return float(self.level_counts[ACTIVE_LEVEL:].sum() / self.n_participants)


__all__ = ["PowerModel", "DRIVERS", "default_max_level"]
