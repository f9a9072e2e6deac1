"""The Mesa model: builds the world from a scenario; ``step()`` only orders the phases.

Process overview (docs/ODD.md): each step

1. shocks scheduled for this step fire;
2. every organization's strategy sets its levers (from what it observed);
3. the previous state is frozen (synchronous update) and this step's uniforms
   are drawn from ``model.rng`` once, for both drivers;
4. the participant phase (``rules.PARTICIPANT_PHASES``): participants perceive,
   see their organization, climb or slip, renew or lose commitment, grow or
   forget grievance, leave, and join (per agent or vectorized: same rules,
   same numbers; leaving and joining are :meth:`PowerModel.leave` and
   :meth:`PowerModel.join` for both);
5. the model tallies each organization's community;
6. organizations collect their current and update stock and legitimacy;
7. declared reporters are collected.
"""

from __future__ import annotations

# First: Mesa, Numba, NetworkX and SciPy, imported with the collector paused (sim/model/libraries.py).
from sim.model import libraries  # isort: skip

import gc
from functools import cached_property
from typing import Any

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import Network

from sim.config.scenario import OrganizationSpec, Scenario
from sim.errors import SimError
from sim.model import choices, kernels, metrics, rules, vectorized
from sim.model.agents import Institution, Organization, Participant, Platform
from sim.model.choices import Choice
from sim.model.neighbours import NeighbourCounter, pick_neighbour
from sim.model.network import build_network, graph_from_adjacency
from sim.model.network_files import scenario_folder
from sim.model.population import draw_population, enrol_members, seed_trigger
from sim.model.shocks import Shock, make_shock
from sim.model.strategies import make_strategy
from sim.model.thresholds import personal_thresholds
from sim.vocabulary import ACTIVE_LEVEL, N_LEVELS, TOP_LEVEL, Level

# The model's own modules and compiled functions, imported since, live as long as the process too
# (sim.model.libraries says why they are frozen, and how a user keeps the collector as it was).
if libraries.freezing():
    gc.freeze()

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
        self.spec = scenario  # as written, with its knock-out list
        scenario = rules.knock_out(scenario)  # as run: the knocked-out mechanisms switched off
        self.driver = driver
        self.dynamics = scenario.dynamics
        self.unaffiliated_cap = int(Level.parse(scenario.population.unaffiliated_max_level))

        base_dir = scenario_folder(scenario.source)
        # The scenario is named in graph-file errors; the driver sizes the memory check.
        built = build_network(scenario.network, self.rng, base_dir, source=scenario.source, driver=driver)
        self.adjacency, self._graph, self.generator = built.adjacency, built.graph, built.generator
        self.counter = NeighbourCounter(self.adjacency)
        self.n_participants = self.adjacency.shape[0]

        self.state = draw_population(self.n_participants, scenario.population, self.rng)
        self.state.threshold = personal_thresholds(
            self.state.threshold,
            scenario.population,
            self._graph,  # node attributes come from files, always read into a NetworkX graph
            self.counter.degree,
            base_dir,
            scenario.network,
        )
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
        self.params = rules.kernel_params(self.dynamics)  # what the compiled participant rules read
        # Each participant's commitment fade is fixed for the run: values never change.
        self.fade = rules.fade_rate(self.state.values, self.dynamics)
        if driver == "agents":
            self.participants  # noqa: B018 - the per-agent driver steps them, from the burn-in on: build them now
        self.views = vectorized.MemberViews()
        self.buffers = vectorized.StepBuffers(self.n_participants)
        # Human-chosen participants' choices for the next step (class mode); none in a plain run.
        self.choices: dict[int, Choice] = {}
        self.burn_in(scenario.burn_in)
        trigger_group = self._group_named(scenario.trigger.organization)
        caps = np.array([self.unaffiliated_cap] + [int(o.max_level) for o in self.organizations])
        self.seeds = seed_trigger(
            self.state, scenario.trigger, self.adjacency, trigger_group, caps, self.rng, scenario.source
        )
        self.schedule = [
            (entry, make_shock(entry.kind, entry.params, source=scenario.source, key=f"shocks.{i}"))
            for i, entry in enumerate(scenario.shocks)
        ]

        self.prev = self.state
        self.table = self.build_table()
        self.cascades = metrics.CascadeTracker(self.adjacency)
        self.events: list[dict[str, Any]] = []
        self.campaigns: list[dict[str, Any]] = []
        self.tally()
        self.recorder = metrics.Recorder()
        self.recorder.collect(self)

    # ------------------------------------------------------------ the network as Mesa and NetworkX see it
    # The vectorized driver needs only the CSR adjacency. The NetworkX graph, Mesa's cells and
    # the Participant agents are built on first use (per-agent driver, or a user touching them);
    # they draw no random numbers, so when they are built changes no result.
    @property
    def graph(self) -> nx.Graph:
        """The social graph as a NetworkX graph, nodes 0..n-1 (from the CSR if igraph generated it)."""
        if self._graph is None:
            self._graph = graph_from_adjacency(self.adjacency)
        return self._graph

    @cached_property
    def space(self) -> Network:
        """Mesa's network space: one cell per participant, on :attr:`graph`."""
        return Network(self.graph, random=self.random, layout=None)

    @cached_property
    def participants(self) -> list[Participant]:
        """Every participant as a Mesa agent on its cell, in index order."""
        return [Participant(self, i, self.space[i]) for i in range(self.n_participants)]

    # ------------------------------------------------------------ the step
    def step(self) -> None:
        """One step, in the order of the process overview above."""
        for entry, shock in self.schedule:
            if entry.fires_at(self.steps):
                self.fire(shock)
        for org in self.organizations:
            org.run_strategy()
        self.table = self.build_table()
        self.participant_phase()
        self.tally()
        for org in self.organizations:
            org.step()
        self.cascades.update(self.state.left, who=self.movers[self.state.left[self.movers] > 0])
        self.recorder.collect(self)

    def burn_in(self, steps: int) -> None:
        """Let the crowd settle around the organizations as specified, before anything is recorded.

        Participant phases and the tally only (no shocks, no strategies, no accounting: stock,
        legitimacy and levers stay as given): the start-up transient of a scenario's hand-set
        initial state is not part of its story. What was last perceived (exits, joins) and the
        peaks are forgotten afterwards.
        """
        self.table = self.build_table()
        self.movers = np.empty(0, dtype=np.int64)
        for _ in range(steps):
            self.participant_phase()
            self.tally()
        self.state.left[:] = 0
        self.state.joined[:] = False
        self.movers = np.empty(0, dtype=np.int64)
        self.views = vectorized.MemberViews()  # its cache trusts the movers just forgotten
        for org in self.organizations:
            org.peak_members = 0

    def participant_phase(self) -> None:
        """Draw this step's uniforms and let every participant act (``rules.PARTICIPANT_PHASES``), by the chosen driver."""
        self.draw_uniforms()
        self.prev = self.state
        if self.driver == "agents":
            self.state = self.prev.copy()
            self.state.left[:] = 0
            self.state.joined[:] = False
            for participant in self.participants:  # in index order, as Mesa's AgentSet.do would
                participant.step()
        else:
            self.state = vectorized.step_participants(self)
        self.choices = {}  # a choice holds for one step

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
        # Drawn into arrays kept between steps: the same numbers as fresh arrays of that shape.
        self.climb_draws = self.rng.random(dtype=np.float32, out=self.buffers.climb)
        self.free = np.flatnonzero(self.state.group == 0)
        self.join_draws = self.rng.random(dtype=np.float32, out=self.buffers.join(self.free.size))

    def join_slot(self, index: int) -> np.ndarray:
        """The column of ``join_draws`` of an unaffiliated participant, as an array (per-agent driver)."""
        return np.searchsorted(self.free, [index])

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
        """Organizations' levers and what follows from them (``rules.py``) as arrays; row 0 is "none"."""
        orgs, p = self.organizations, self.dynamics

        def lever(name: str) -> np.ndarray:
            return np.array([getattr(org, name) for org in orgs], dtype=float)

        openness, values, funded = lever("openness"), lever("values"), lever("funded")
        outreach, ads = lever("outreach"), lever("ads")
        columns = {
            "member": np.ones(len(orgs)),
            "openness": openness,
            "values": values,
            "take": rules.felt_take(lever("take_rate"), lever("structure"), p),
            "visibility": rules.visibility(lever("transparency"), lever("exposure")),
            "pull": rules.organization_pull(openness, lever("mobilization"), funded, p),
            "reach": rules.funded_reach(outreach, ads, funded, p),
            "reach_commitment": rules.reach_commitment(outreach, ads, p),
        }
        caps = np.array([self.unaffiliated_cap] + [int(org.max_level) for org in orgs], dtype=np.int8)
        return rules.OrgTable(
            max_level=caps, **{name: np.concatenate(([0.0], column)) for name, column in columns.items()}
        )

    # ------------------------------------------------------------ human-chosen participants (class mode)
    def allowed_choices(self, index: int) -> tuple[Choice, ...]:
        """The choices the model allows participant ``index`` for the next step (``choices.allowed``)."""
        if not 0 <= index < self.n_participants:
            raise SimError(f"no participant {index}; allowed: 0-{self.n_participants - 1}")
        group = int(self.state.group[index])
        cap = int(self.table.max_level[group])
        return choices.allowed(int(self.state.level[index]), group, cap, len(self.organizations))

    def choose(self, chosen: dict[int, Choice | str]) -> None:
        """Set, for the next step only, the choice of each participant named (docs/ODD.md 7.21).

        Their choices replace the rules of climbing, slipping, leaving and joining for them; everyone
        else follows the rules, and the step draws the same random numbers. A choice the model does
        not allow now raises ``SimError`` and sets nothing.
        """
        parsed = {}
        for index, value in chosen.items():
            index = int(index)
            try:
                choice = Choice.parse(value)
            except ValueError as exc:
                raise SimError(str(exc)) from None
            allowed = self.allowed_choices(index)
            if choice not in allowed:
                raise SimError(
                    f"participant {index} cannot {choice.value} now; allowed: "
                    + ", ".join(c.value for c in allowed)
                )
            parsed[index] = choice
        self.choices.update(parsed)

    def chosen_update(self, index: int, seen: rules.Perceived, view: rules.MemberView) -> rules.Updated:
        """The "update" phase of a human-chosen participant (``rules.chosen``), for both drivers."""
        prev = self.prev
        level = choices.chosen_level(self.choices[index], prev.level[index], view.cap)
        return rules.chosen(
            level,
            prev.highest[index],
            prev.commitment[index],
            prev.grievance[index],
            self.fade[index],
            seen,
            view,
            self.params,
        )

    def follow_choices(self, who: np.ndarray) -> None:
        """Move the human-chosen participants ``who`` who chose to leave or to join another organization."""
        for index in who:
            choice, group = self.choices[int(index)], int(self.prev.group[index])
            if choice is Choice.LEAVE and group > 0:
                self.move(np.array([index]), np.array([0]), leaving=True)
            elif choice is Choice.JOIN_RIVAL:
                goal = choices.target(self.prev.values[index], group, self.table)
                if goal > 0:
                    self.move(np.array([index]), np.array([goal]), leaving=group > 0)

    def rule_join_slots(self) -> np.ndarray | None:
        """Columns of ``join_draws`` whose participants join by the rules (all, as None, without choices)."""
        mine = np.fromiter(self.choices, dtype=np.int64, count=len(self.choices))
        mine = mine[self.prev.group[mine] == 0] if mine.size else mine
        if not mine.size:
            return None
        return np.setdiff1d(np.arange(self.free.size), np.searchsorted(self.free, mine))

    # ------------------------------------------------------------ changing affiliation (both drivers)
    def leave(self, who: np.ndarray, align_now) -> None:
        """Participants ``who`` leave: to the best-aligned rival if it is clearly better, else to none.

        ``align_now``: their alignment with the organization they leave (``MemberView.align``).
        """
        rival, align_rival = rules.best_rival(self.prev.values[who], self.prev.group[who], self.table)
        self.move(who, rules.destination(align_now, rival, align_rival, self.dynamics), leaving=True)

    def join(self, slots: np.ndarray | None = None) -> None:
        """Unaffiliated participants may join: reached by an organization, or else brought by a contact.

        Args:
            slots: columns of ``join_draws`` to consider (participants ``free[slots]``); all by default.
                Each reads its own uniforms and its grievance after this step's rules.
        """
        table, p = self.table, self.dynamics
        if table.n_groups == 1:
            return
        # Only a draw below the highest possible join chance can lead to joining, so the others
        # are skipped; the outcome is the same as checking everyone. (Compared in float64, as
        # the float32 draw is compared with a float64 chance below.)
        ceiling = np.float64(max(p.join_rate_open, p.join_rate_closed))
        accept = self.join_draws[rules.DRAW_ACCEPT]
        slots = np.flatnonzero(accept < ceiling) if slots is None else slots[accept[slots] < ceiling]
        if not slots.size:
            return
        u = self.join_draws[:, slots]
        who = self.free[slots]
        target = rules.reached_by(u[rules.DRAW_REACH], table.reach)
        cold = target > 0  # reached by an organization's outreach or ads
        warm = np.flatnonzero(~cold)
        partner = pick_neighbour(self.adjacency, who[warm], u[rules.DRAW_PARTNER, warm])
        has = partner >= 0
        target[warm[has]] = rules.partner_group(self.prev.group[partner[has]])
        chance = rules.join_prob(
            table.openness[target],
            rules.alignment(self.prev.values[who], table.values[target]),
            self.state.grievance[who],
            p,
        )
        joins = np.flatnonzero((target > 0) & (u[rules.DRAW_ACCEPT] < chance))
        if joins.size:
            commitment = np.where(cold[joins], table.reach_commitment[target[joins]], p.join_commitment)
            self.move(who[joins], target[joins], leaving=False, commitment=commitment)

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
        s.highest[who] = s.level[who]  # a new organization is new: its rungs excite again
        to_org = target > 0
        joining = p.join_commitment if commitment is None else commitment
        s.commitment[who] = np.where(to_org, joining, 0.0)
        if leaving:
            s.grievance[who] = np.where(to_org, 0.0, s.grievance[who])
        s.joined[who] = to_org

    def tally(self) -> None:
        """Count each organization's community (members, active, sums) in one pass."""
        s, n_groups = self.state, len(self.organizations) + 1
        counts = kernels.Tally(
            by_level=np.zeros((n_groups, N_LEVELS), dtype=np.int64),
            grievance_sum=np.zeros(n_groups),
            participation_sum=np.zeros(n_groups),
            exits=np.zeros(n_groups, dtype=np.int64),
            joins=np.zeros(n_groups, dtype=np.int64),
            movers=self.buffers.movers,
        )
        k = kernels.tally_groups(s.group, s.level, s.grievance, s.commitment, s.left, s.joined, counts)
        self.movers = counts.movers[:k].copy()  # who left or joined in the last step
        by_level = counts.by_level
        participation = counts.participation_sum / TOP_LEVEL
        self.level_counts = by_level.sum(axis=0)
        levels = np.arange(N_LEVELS)
        for org in self.organizations:
            g = org.group
            org.n_members = int(by_level[g].sum())
            org.peak_members = max(org.peak_members, org.n_members)
            org.n_active = int(by_level[g, ACTIVE_LEVEL:].sum())
            org.level_sum = float(by_level[g] @ levels)
            org.grievance_sum = float(counts.grievance_sum[g])
            org.participation_sum = float(participation[g])
            org.current = float(rules.current(org.participation_sum, self.n_participants))
            org.n_exits, org.n_joins = int(counts.exits[g]), int(counts.joins[g])

    @property
    def active_fraction(self) -> float:
        """Share of all participants at SHARING or above."""
        return float(self.level_counts[ACTIVE_LEVEL:].sum() / self.n_participants)


__all__ = ["DRIVERS", "Institution", "Platform", "PowerModel"]
