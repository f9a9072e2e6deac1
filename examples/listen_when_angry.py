"""A user-written strategy: listen to the community only when it gets angry.

Use it from a scenario by import path (see examples/listen_when_angry.toml)::

    [[organizations]]
    strategy = "listen_when_angry:ListenWhenAngry"
    [organizations.strategy_params]
    alarm = 0.15

newpower imports the module from the Python path, the scenario's folder or the
working folder. Nothing in the scenario file is evaluated: only this module's
class is imported, and its parameters are validated like any other.
"""

from dataclasses import dataclass
from typing import ClassVar

from sim.config.spec import param
from sim.model.levers import Levers, Observation
from sim.model.strategies import Strategy, toward


@dataclass
class ListenWhenAngry(Strategy):
    """Moves its values toward its community's only while members' mean grievance is above an alarm."""

    name: ClassVar[str] = "listen_when_angry"
    summary: ClassVar[str] = "moves values toward the community only when grievance runs high"
    alarm: float = param(0.15, 0.0, 1.0, doc="mean grievance that makes it listen")
    rate: float = param(0.05, 0.0, 1.0, doc="how far its values move per step while listening")

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Stay put while members are calm; otherwise move values toward theirs."""
        if seen.mean_grievance < self.alarm:
            return levers
        return levers.replace(values=toward(levers.values, seen.community_values, self.rate))
