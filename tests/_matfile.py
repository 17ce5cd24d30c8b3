"""A small writer of real MATLAB v7.3 MAT-files, for the dataset tests.

It produces the layout MATLAB itself writes with ``save(..., '-v7.3')``: a
512-byte user block holding the MATLAB header text, a ``MATLAB_class`` on every
variable, arrays transposed, char as uint16, empty values as their dimensions
flagged ``MATLAB_empty``, cell arrays as object references into ``#refs#``,
structs as groups (with ``MATLAB_fields``) and struct arrays as groups of
reference datasets. ``mat73`` (an independent reader) reads what it writes.

Values map as follows: ``str`` -> char; float/int/ndarray -> double (1-D arrays
become MATLAB column vectors unless given 2-D); bool ndarray -> logical;
``Cell`` -> cell; ``dict`` -> struct; ``StructArray`` -> struct array;
``Empty(cls)`` -> an empty value of that class.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import h5py
import numpy as np


@dataclass
class Cell:
    """A MATLAB cell array; ``shape`` is the MATLAB shape (default 1 x n)."""

    items: list
    shape: tuple | None = None


@dataclass
class StructArray:
    """A MATLAB 1 x n struct array of dicts sharing the same fields."""

    items: list


@dataclass
class Empty:
    """An empty MATLAB value of class ``cls`` (e.g. ``[]`` is ``Empty('double')``)."""

    cls: str = "double"


def _class_attr(obj, cls: str) -> None:
    obj.attrs.create("MATLAB_class", np.bytes_(cls))


def _fields_attr(group, names) -> None:
    vlen = h5py.vlen_dtype(np.dtype("S1"))
    value = np.empty(len(names), dtype=object)
    for i, name in enumerate(names):
        value[i] = np.array(list(name), dtype="S1")
    group.attrs.create("MATLAB_fields", value, dtype=vlen)


class MatWriter:
    """Write variables into a new MATLAB v7.3 file; use as a context manager."""

    def __init__(self, path):
        self.path = path
        self.file = h5py.File(path, "w", userblock_size=512, libver="earliest")
        self._n_refs = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __setitem__(self, name, value):
        self._put(self.file, name, value)

    def close(self):
        self.file.close()
        # The header MATLAB writes into the user block: 116 bytes of text, 8 of
        # subsystem offset, version 0x0200 and the endian indicator.
        header = (
            (
                "MATLAB 7.3 MAT-file, Platform: GLNXA64, "
                "Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
            )
            .ljust(116)
            .encode("ascii")
        )
        header += b" " * 8 + np.array([0x0200], dtype="<u2").tobytes() + b"IM"
        with open(self.path, "r+b") as fh:
            fh.write(header)

    # -- internals -----------------------------------------------------------
    def _refs(self):
        if "#refs#" not in self.file:
            refs = self.file.create_group("#refs#")
            canon = refs.create_dataset("a", data=np.array([0, 0], dtype=np.uint64))
            _class_attr(canon, "canonical empty")
            canon.attrs.create("MATLAB_empty", np.uint8(1))
        return self.file["#refs#"]

    def _new_ref_name(self) -> str:
        self._n_refs += 1
        n, name = self._n_refs, ""
        letters = string.ascii_letters
        while True:
            n, r = divmod(n, len(letters))
            name = letters[r] + name
            if n == 0:
                break
        return name if name != "a" else "a0"

    def _ref_to(self, value):
        refs = self._refs()
        name = self._new_ref_name()
        self._put(refs, name, value)
        return refs[name].ref

    def _put(self, parent, name, value):
        if isinstance(value, Empty):
            ds = parent.create_dataset(name, data=np.array([0, 0], dtype=np.uint64))
            _class_attr(ds, value.cls)
            ds.attrs.create("MATLAB_empty", np.uint8(1))
        elif isinstance(value, str):
            if not value:
                self._put(parent, name, Empty("char"))
                return
            codes = np.array([ord(c) for c in value], dtype=np.uint16)
            ds = parent.create_dataset(name, data=codes.reshape(-1, 1))
            _class_attr(ds, "char")
            ds.attrs.create("MATLAB_int_decode", np.int32(2))
        elif isinstance(value, Cell):
            shape = value.shape or (1, len(value.items))
            if len(value.items) == 0:
                self._put(parent, name, Empty("cell"))
                return
            refs = np.empty(len(value.items), dtype=h5py.ref_dtype)
            for i, item in enumerate(value.items):
                refs[i] = self._ref_to(item)
            # MATLAB column-major shape -> transposed HDF5 layout
            refs = refs.reshape(shape, order="F").T
            ds = parent.create_dataset(name, data=refs)
            _class_attr(ds, "cell")
        elif isinstance(value, StructArray):
            group = parent.create_group(name)
            _class_attr(group, "struct")
            fields = list(value.items[0])
            _fields_attr(group, fields)
            for field in fields:
                refs = np.empty((len(value.items), 1), dtype=h5py.ref_dtype)
                for i, item in enumerate(value.items):
                    refs[i, 0] = self._ref_to(item[field])
                group.create_dataset(field, data=refs)  # no MATLAB_class here
        elif isinstance(value, dict):
            group = parent.create_group(name)
            _class_attr(group, "struct")
            _fields_attr(group, list(value))
            for field, item in value.items():
                self._put(group, field, item)
        else:
            arr = np.asarray(value)
            if arr.dtype == bool:
                data, cls = arr.astype(np.uint8), "logical"
            elif np.issubdtype(arr.dtype, np.number):
                data, cls = arr.astype(np.float64), "double"
            else:
                raise TypeError(f"cannot write {type(value)} as MATLAB data")
            if data.size == 0:
                self._put(parent, name, Empty(cls))
                return
            if data.ndim == 0:
                data = data.reshape(1, 1)
            elif data.ndim == 1:
                data = data.reshape(-1, 1)  # MATLAB column vector
            ds = parent.create_dataset(name, data=data.T)
            _class_attr(ds, cls)


def write_mat73(path, variables: dict) -> None:
    """Write ``variables`` (name -> value) into a new MATLAB v7.3 file."""
    with MatWriter(path) as writer:
        for name, value in variables.items():
            writer[name] = value


def _v5(value):
    """A value for ``scipy.io.savemat`` in the layout MATLAB v5 files hold."""
    if isinstance(value, Empty):
        if value.cls == "char":
            return ""
        return np.empty((0, 0), dtype=object if value.cls == "cell" else float)
    if isinstance(value, Cell):
        out = np.empty(len(value.items), dtype=object)
        for i, item in enumerate(value.items):
            out[i] = _v5(item)
        return out.reshape(value.shape or (1, len(value.items)), order="F")
    if isinstance(value, StructArray):
        fields = list(value.items[0])
        out = np.empty((1, len(value.items)), dtype=[(f, object) for f in fields])
        for i, item in enumerate(value.items):
            out[0, i] = tuple(_v5(item[f]) for f in fields)
        return out
    if isinstance(value, dict):
        return {k: _v5(v) for k, v in value.items()}
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)  # MATLAB column vector, as write_mat73 does
    return arr


def write_mat5(path, variables: dict) -> None:
    """Write ``variables`` (as for :func:`write_mat73`) into a MATLAB v5 file."""
    import scipy.io

    scipy.io.savemat(str(path), {k: _v5(v) for k, v in variables.items()},
                     format="5", oned_as="column")
