"""Neighbour counts as one pass over the ties, and neighbours by position.

:class:`NeighbourCounter` answers "how many of my neighbours are in state S?"
for several states S at once with a single integer sparse mat-vec (compiled, one
pass over the ties: :func:`_packed_sums`). Each participant contributes a small integer packed into bit fields of an int64
(one field per state it is in); the product sums every field separately, and
each participant reads back the field it needs. The fields are wide enough
for the largest degree, so no sum can carry into its neighbour field; the
counts are exact integers, identical to counting neighbours one by one.

Neighbours are in the adjacency's canonical (sorted) order, so "the k-th neighbour of i"
means the same in both drivers (:func:`neighbour_order`, :func:`pick_neighbour`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import njit


@dataclass
class PackedCounts:
    """The result of one :meth:`NeighbourCounter.count` call."""

    words: list[np.ndarray]
    bits: int
    per_word: int

    def field(self, index: np.ndarray | int) -> np.ndarray:
        """Per participant, the neighbour count in field ``index[i]`` (or one field for all)."""
        mask = (1 << self.bits) - 1
        if np.ndim(index) == 0:
            word, offset = divmod(int(index), self.per_word)
            return (self.words[word] >> (offset * self.bits)) & mask
        index = np.asarray(index, dtype=np.int64)
        if len(self.words) == 1:
            return (self.words[0] >> (index * self.bits)) & mask
        word = index // self.per_word
        picked = np.stack(self.words)[word, np.arange(index.size)]
        return (picked >> ((index % self.per_word) * self.bits)) & mask


class NeighbourCounter:
    """Count, for every participant, neighbours in each of several states, in one product.

    Args:
        adj: the CSR adjacency (int64 data, 0/1).
    """

    def __init__(self, adj: sp.csr_array) -> None:
        self.adj = adj
        degree = np.diff(adj.indptr)
        self.degree = degree
        self.safe_degree = np.maximum(degree, 1).astype(np.float64)  # isolated: count 0 of 1
        max_degree = int(degree.max()) if degree.size else 0
        self.bits = max(1, max_degree.bit_length())
        self.per_word = 63 // self.bits
        self._shift_tables: dict[tuple, np.ndarray] = {}

    def shifts(self, fields: tuple[int, ...]) -> np.ndarray:
        """Bit shifts of the given fields within their words, as a lookup table (cached)."""
        if fields not in self._shift_tables:
            self._shift_tables[fields] = (np.asarray(fields, dtype=np.int64) % self.per_word) * self.bits
        return self._shift_tables[fields]

    def count_keys(self, keys: np.ndarray, table: np.ndarray, out: np.ndarray | None = None) -> PackedCounts:
        """Count neighbours per field, where a participant's fields follow from a small key.

        Args:
            keys: int array (n_participants,): each participant's state key.
            table: bool array (n_keys, n_fields): ``table[key]`` lists the fields
                a participant with that key counts towards.
            out: optional int64 array (n_participants,) for the first word of sums (a caller
                counting every step reuses it); further words are new arrays.

        Returns:
            Packed sums; read one field per participant with :meth:`PackedCounts.field`.
            Packing costs one gather, whatever the number of fields.
        """
        n_fields = table.shape[1]
        # Small keys make the gather over neighbours read 2 bytes each, not 8.
        compact = keys.astype(key_dtype(table.shape[0]), copy=False)
        words = []
        for start in range(0, n_fields, self.per_word):
            block = table[:, start : start + self.per_word]
            weights = np.left_shift(np.int64(1), self.bits * np.arange(block.shape[1], dtype=np.int64))
            packed_table = self._pack(block, weights)
            into = out if out is not None and not words else np.empty(keys.size, dtype=np.int64)
            words.append(_packed_sums(self.adj.indptr, self.adj.indices, compact, packed_table, into))
        return PackedCounts(words, self.bits, self.per_word)

    @staticmethod
    def _pack(block: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return (block.astype(np.int64) * weights).sum(axis=1)


def key_dtype(n_keys: int) -> type[np.integer]:
    """The narrowest of int16 and int64 that holds keys below ``n_keys``."""
    return np.int16 if n_keys <= np.iinfo(np.int16).max else np.int64


@njit(cache=True)
def _packed_sums(
    indptr: np.ndarray, indices: np.ndarray, keys: np.ndarray, table: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """``A @ table[keys]`` for a 0/1 CSR ``A`` into ``out``, without materializing ``table[keys]`` or reading ``A.data``.

    The same integer sums as SciPy's product; one pass over the ties that reads 4-byte indices
    and small keys (most neighbours' keys share cache lines) instead of 8-byte data and values.
    """
    for i in range(indptr.size - 1):
        total = np.int64(0)
        for k in range(indptr[i], indptr[i + 1]):
            total += table[keys[indices[k]]]
        out[i] = total
    return out


def neighbour_order(adj: sp.csr_array, i: int) -> np.ndarray:
    """The neighbours of participant ``i`` in the canonical (sorted) order."""
    return adj.indices[adj.indptr[i] : adj.indptr[i + 1]]


def pick_neighbour(adj: sp.csr_array, who: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each participant in ``who``, the neighbour at position floor(u * degree); -1 if isolated."""
    start = adj.indptr[who]
    degree = adj.indptr[who + 1] - start
    if adj.indices.size == 0:  # a graph without ties: everyone is isolated
        return np.full(np.shape(who), -1, dtype=np.int64)
    offset = np.floor(u.astype(np.float64) * degree).astype(np.int64)
    safe = np.where(degree > 0, start + offset, 0)
    return np.where(degree > 0, adj.indices[safe], -1)
