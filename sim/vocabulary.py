"""The discrete states of the model, as Enums (never magic integers).

Participation levels follow the article's exhibit "The Participation Scale"
(Heimans & Timms 2014): consuming, sharing, shaping, funding, producing,
co-owning. Quadrants follow "The New Power Compass".
"""

from __future__ import annotations

import enum


class Level(enum.IntEnum):
    """A rung on the participation scale; higher means more participation."""

    CONSUMING = 0
    SHARING = 1
    SHAPING = 2
    FUNDING = 3
    PRODUCING = 4
    CO_OWNING = 5

    @classmethod
    def parse(cls, name: str) -> Level:
        """Return the level called ``name`` (case-insensitive, ``-`` or ``_``)."""
        return cls[str(name).strip().upper().replace("-", "_")]


#: The participation scale's size and top, named once: rules divide by them (``level / TOP_LEVEL`` is
#: the share of the scale climbed; openness is cut into ``N_LEVELS`` bands of enabled levels).
N_LEVELS = len(Level)
TOP_LEVEL = int(max(Level))
#: Participants at this level or above count as "active".
ACTIVE_LEVEL = int(Level.SHARING)


class Quadrant(enum.Enum):
    """A quadrant of the New Power Compass (model axis x values axis)."""

    CASTLE = "Castle"  # old power model, old power values
    CONNECTOR = "Connector"  # new power model, old power values
    CHEERLEADER = "Cheerleader"  # old power model, new power values
    CROWD = "Crowd"  # new power model, new power values

    @classmethod
    def of(cls, openness: float, values: float) -> Quadrant:
        """Classify a compass position; 0.5 splits each axis."""
        new_model = openness >= 0.5
        new_values = values >= 0.5
        if new_model:
            return cls.CROWD if new_values else cls.CONNECTOR
        return cls.CHEERLEADER if new_values else cls.CASTLE


class OrgKind(enum.Enum):
    """Whether an organization was founded as old power or new power."""

    INSTITUTION = "institution"
    PLATFORM = "platform"


def enabled_level(openness: float) -> Level:
    """Levels a model enables by default: the openness axis cut into ``N_LEVELS`` equal bands.

    Fully closed models ask only for consumption ("Old power models tend to
    require little more than consumption"); fully open ones enable co-owning.
    """
    return Level(min(TOP_LEVEL, int(openness * N_LEVELS)))
