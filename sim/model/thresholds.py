"""The thresholds the rules read: drawn ones replaced person by person, numbers made shares.

After the population is drawn (:func:`sim.model.population.draw_thresholds`), participants
listed in ``population.threshold_file`` (read by :func:`sim.config.thresholds.read_threshold_file`)
or whose GraphML node carries ``population.threshold_attribute`` take that threshold. Then a
threshold given as a number of neighbours (``threshold_kind = "count"``, Centola & Macy 2007)
becomes a share of one's degree, so every rule compares shares, as in Watts (2002).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np

from sim.config.scenario import NetworkSpec, PopulationSpec
from sim.config.spec import shown
from sim.config.thresholds import as_threshold, read_threshold_file, resolve, threshold_allowed
from sim.errors import ScenarioError

__all__ = ["attribute_thresholds", "personal_thresholds"]


def personal_thresholds(
    threshold: np.ndarray,
    spec: PopulationSpec,
    graph: nx.Graph,
    degree: np.ndarray,
    base_dir: Path | None,
    network: NetworkSpec,
) -> np.ndarray:
    """The thresholds the rules read, one per participant.

    A count c becomes the share c / k of one's k neighbours (c / 1 for an isolated participant,
    who never has a neighbour above it). Shares of neighbours above are computed by the same
    division by k, and correctly rounded division is monotone, so "at least c active neighbours"
    is exactly "a share of at least c / k" in every rule.

    Args:
        threshold: the drawn thresholds, one per participant.
        spec: the ``[population]`` table.
        graph: the social graph (nodes 0..n-1), for a node attribute.
        degree: each participant's number of neighbours.
        base_dir: the folder relative paths start from (the scenario file's).
        network: the ``[network]`` table (its GraphML file is named in messages).

    Raises:
        ScenarioError: naming the file, the line or participant, and the key, for a file or
            attribute that is missing, unreadable or holds a value that is not a threshold.
    """
    threshold = threshold.copy()
    if spec.threshold_file:
        ids, values = read_threshold_file(
            resolve(spec.threshold_file, base_dir), threshold.size, spec.threshold_kind
        )
        threshold[ids] = values
    elif spec.threshold_attribute:
        where = str(resolve(network.path, base_dir))
        ids, values = attribute_thresholds(graph, spec.threshold_attribute, spec.threshold_kind, where)
        threshold[ids] = values
    if spec.threshold_kind == "count":
        threshold = threshold / np.maximum(degree, 1).astype(np.float64)
    return threshold


def attribute_thresholds(
    graph: nx.Graph, name: str, kind: str, network_file: str
) -> tuple[list[int], list[float]]:
    """Participant numbers and thresholds of the nodes that carry GraphML attribute ``name``.

    Participants are the graph's nodes 0..n-1 in the file's order, so node i is participant i.

    Raises:
        ScenarioError: naming the network file and ``population.threshold_attribute``, when no node
            has the attribute or the first node whose value is not a threshold.
    """
    found = [graph.nodes[i].get(name) for i in range(graph.number_of_nodes())]
    ids = [i for i, value in enumerate(found) if value is not None]
    if not ids:
        present = sorted({str(key) for _, data in graph.nodes(data=True) for key in data})
        raise ScenarioError(
            "no node has this attribute",
            source=network_file,
            key="population.threshold_attribute",
            value=shown(name),
            allowed=", ".join(present) or "(the file's nodes have no attributes)",
        )
    values = []
    for i in ids:
        value = as_threshold(found[i], kind)
        if value is None:
            raise ScenarioError(
                f"participant {i} (node {i + 1} in the file's order): not a threshold",
                source=network_file,
                key="population.threshold_attribute",
                value=shown(found[i]),
                allowed=threshold_allowed(kind),
            )
        values.append(value)
    return ids, values
