"""Reading MAT-files: v7.3 (HDF5 with MATLAB annotations) with h5py, older
versions with ``scipy.io.loadmat`` (:class:`open_mat` picks).

What the layout looks like, and what this module undoes:

- every variable carries a ``MATLAB_class`` attribute (``double``, ``char``,
  ``logical``, ``cell``, ``struct``, ...);
- arrays are stored transposed (HDF5 is row-major, MATLAB column-major), so a
  MATLAB ``frames x ROIs`` matrix appears in h5py as ``ROIs x frames``;
- text is an array of uint16 code units;
- empty values are a small array of their dimensions flagged ``MATLAB_empty``;
- a cell array is a dataset of object references into the ``#refs#`` group;
- a struct is a group, one member per field; a struct *array* is a group whose
  fields are datasets of references (one per element) without ``MATLAB_class``.

Cells and struct-array fields both come back as object arrays in MATLAB shape,
so a scalar struct whose fields are per-worm cells and a 1 x n struct array read
alike: a dict mapping each field to an object array with one entry per element.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

_NUMERIC = {
    "double",
    "single",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
}


def open_mat73(path) -> h5py.File:
    """Open a MATLAB v7.3 file for reading, with a clear error for anything else."""
    path = _existing_file(path)
    if not h5py.is_hdf5(path):
        raise ValueError(
            f"{path} is not a MATLAB v7.3 MAT-file (HDF5). The Kato and Nichols "
            "recordings are published in v7.3 format; re-save older files in MATLAB "
            "with save(..., '-v7.3')."
        )
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(
            f"{path} is an HDF5 file that cannot be read: it is probably truncated "
            f"or corrupted (an interrupted download or copy?); copy or download it "
            f"again. HDF5 said: {exc}"
        ) from exc


def matlab_class(obj) -> str | None:
    """The ``MATLAB_class`` attribute of an HDF5 object, as text, or None."""
    cls = obj.attrs.get("MATLAB_class")
    if cls is None:
        return None
    if isinstance(cls, bytes):
        return cls.decode("ascii")
    if isinstance(cls, np.ndarray):
        cls = cls.item()
        return cls.decode("ascii") if isinstance(cls, bytes) else str(cls)
    return str(cls)


def _is_empty(ds: h5py.Dataset) -> bool:
    flag = ds.attrs.get("MATLAB_empty")
    return flag is not None and bool(np.asarray(flag).any())


def _is_reference(ds: h5py.Dataset) -> bool:
    return h5py.check_dtype(ref=ds.dtype) is not None


def read(obj, file: h5py.File | None = None):
    """Convert an h5py object of a MAT-file into Python values.

    Returns
    -------
    value
        numeric/logical -> ndarray in MATLAB orientation; char -> str (a
        multi-row char matrix -> list of str); cell or struct-array field ->
        object ndarray in MATLAB shape; struct -> dict; empty -> an empty
        ndarray (numeric), ``""`` (char) or an empty object array (cell).
    """
    file = obj.file if file is None else file
    if isinstance(obj, h5py.Group):
        return {
            key: read(obj[key], file)
            for key in obj
            if not key.startswith("#")  # #refs#, #subsystem#
        }
    cls = matlab_class(obj)
    if _is_empty(obj):
        if cls == "char":
            return ""
        if cls in ("cell", "struct"):
            return np.empty((0,), dtype=object)
        return np.empty((0,))
    if _is_reference(obj):
        # A cell array, or a field of a struct array: one reference per element.
        refs = obj[()]
        out = np.empty(refs.shape, dtype=object)
        for idx in np.ndindex(refs.shape):
            ref = refs[idx]
            out[idx] = read(file[ref], file) if ref else None
        return out.T
    data = obj[()]
    if cls == "char":
        codes = np.atleast_2d(np.asarray(data)).T  # MATLAB rows x chars
        rows = ["".join(map(chr, row)) for row in codes.astype(np.uint32)]
        return rows[0] if len(rows) == 1 else rows
    if cls == "logical":
        return np.asarray(data).T.astype(bool)
    if cls in _NUMERIC or cls is None:
        return np.asarray(data).T
    raise ValueError(
        f"Unsupported MATLAB class {cls!r} at {obj.name} in {file.filename}; "
        "expected numeric, logical, char, cell or struct."
    )


def elements(value) -> list:
    """The elements of a cell array or struct-array field, in MATLAB order.

    A value that is not a cell (for example a plain matrix stored in a struct
    field of a single recording) is one element.
    """
    if isinstance(value, np.ndarray) and value.dtype == object:
        return list(value.ravel(order="F"))
    return [value]


def _not_a_struct(source: str, kind: str, shape) -> ValueError:
    return ValueError(
        f"{source} is {kind} of shape {tuple(shape)}, not a struct: this file "
        "does not have the layout of the published recordings."
    )


class _Mat73:
    """A v7.3 MAT-file (HDF5) read lazily: only the fields asked for."""

    def __init__(self, path: Path):
        self.file = open_mat73(path)
        self.variables = [k for k in self.file if not k.startswith("#")]

    def fields(self, name: str, source: str) -> list[str]:
        root = self.file[name]
        if not isinstance(root, h5py.Group):
            cls = matlab_class(root)
            kind = f"a MATLAB {cls}" if cls else "an HDF5 dataset"
            raise _not_a_struct(source, kind, root.shape)
        return list(root)

    def read_fields(self, name: str, keys) -> dict:
        root = self.file[name]
        return {k: read(root[k], self.file) for k in keys}

    def close(self):
        self.file.close()


class _Mat5:
    """A MATLAB v4/v5/v6/v7 MAT-file, read whole with ``scipy.io.loadmat``."""

    def __init__(self, path: Path):
        import scipy.io

        try:
            self.data = scipy.io.loadmat(str(path))
        except Exception as exc:  # scipy raises several types on a bad file
            raise ValueError(
                f"{path} is neither a MATLAB v7.3 MAT-file (HDF5) nor an older "
                f"MAT-file that scipy.io.loadmat can read: it is probably truncated "
                f"or not a MAT-file; copy or download it again. scipy said: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self.variables = [k for k in self.data if not k.startswith("__")]

    def fields(self, name: str, source: str) -> list[str]:
        root = self.data[name]
        if not (isinstance(root, np.ndarray) and root.dtype.names):
            kind = f"a MATLAB {'cell' if root.dtype == object else root.dtype}"
            raise _not_a_struct(source, kind, np.shape(root))
        return list(root.dtype.names)

    def read_fields(self, name: str, keys) -> dict:
        element = self.data[name]
        fields = element.dtype.names
        if element.size != 1:  # a struct array: each field across its elements
            return {k: from_loadmat(element[[k]])[k] for k in keys if k in fields}
        return {k: from_loadmat(element.ravel()[0][k]) for k in keys}

    def close(self):
        pass


class open_mat:  # noqa: N801 (used like open())
    """Open a MAT-file of any version for reading its root structs.

    v7.3 files (HDF5) are read with h5py, field by field; older versions (v4 to
    v7) with ``scipy.io.loadmat``. Both give the values :func:`read` documents.
    """

    def __init__(self, path):
        path = _existing_file(path)
        self.mat = _Mat73(path) if h5py.is_hdf5(path) else _Mat5(path)
        self.variables = self.mat.variables

    def fields(self, name: str, source: str) -> list[str]:
        """Field names of the root struct ``name``; anything else is refused."""
        return self.mat.fields(name, source)

    def read_fields(self, name: str, keys) -> dict:
        """The values of the fields ``keys`` of the root struct ``name``."""
        return self.mat.read_fields(name, keys)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.mat.close()


def _existing_file(path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"{path} is a directory, not a MAT-file; pass the path of the file "
            "itself (for example <directory>/WT_NoStim.mat)."
        )
    if not path.is_file():
        raise FileNotFoundError(f"No such MAT-file: {path}")
    return path


def from_loadmat(value):
    """A value from ``scipy.io.loadmat`` as :func:`read` returns it from v7.3.

    loadmat gives structs as record arrays, cells as object arrays, char as
    arrays of str and every numeric value at least 2-D; :func:`read` gives
    dicts, object arrays in MATLAB shape, str (a list of str for a multi-row
    char) and numeric arrays, so that the readers see one layout.
    """
    if not isinstance(value, np.ndarray):
        raise ValueError(
            f"Unsupported MATLAB value of type {type(value).__name__}; expected "
            "numeric, logical, char, cell or struct."
        )
    if value.dtype.names:
        if value.size == 0:
            return np.empty((0,), dtype=object)
        if value.size == 1:
            element = value.ravel()[0]
            return {n: from_loadmat(element[n]) for n in value.dtype.names}
        out = {}
        for n in value.dtype.names:
            field = np.empty(value.shape, dtype=object)
            for idx in np.ndindex(value.shape):
                field[idx] = from_loadmat(value[idx][n])
            out[n] = field
        return out
    if value.dtype == object:
        if value.size == 0:
            return np.empty((0,), dtype=object)
        out = np.empty(value.shape, dtype=object)
        for idx in np.ndindex(value.shape):
            out[idx] = from_loadmat(value[idx])
        return out
    if value.dtype.kind == "U":
        rows = [str(v) for v in value.ravel()]
        if not rows or rows == [""]:
            return ""
        return rows[0] if len(rows) == 1 else rows
    if value.size == 0:
        return np.empty((0,))
    if value.dtype.kind in "biuf":
        return value
    raise ValueError(
        f"Unsupported MATLAB value of dtype {value.dtype}; expected numeric, "
        "logical, char, cell or struct."
    )


def numeric(value, what: str) -> np.ndarray:
    """A numeric or logical MATLAB value as a float array; text, cells and
    structs are refused naming ``what``."""
    if isinstance(value, (str, list)):
        raise ValueError(f"{what} should be numeric; got the text {text(value)!r}.")
    if isinstance(value, dict):
        raise ValueError(
            f"{what} should be numeric; got a struct with fields {sorted(value)}."
        )
    arr = np.asarray(value)
    if arr.dtype == object:
        raise ValueError(f"{what} should be numeric; got a cell array.")
    return arr.astype(float)


def vector(value, what: str) -> np.ndarray:
    """A numeric MATLAB vector (row or column) as a flat float array."""
    arr = numeric(value, what)
    if arr.ndim > 2 or (arr.ndim == 2 and min(arr.shape) > 1):
        raise ValueError(f"{what} should be a vector; got shape {arr.shape}.")
    return arr.ravel()


def scalar(value, what: str) -> float:
    """A numeric MATLAB scalar as a float."""
    arr = numeric(value, what).ravel()
    if arr.size != 1:
        raise ValueError(f"{what} should be a scalar; got {arr.size} values.")
    return float(arr[0])


def text(value) -> str:
    """A char value as str ('' for anything else)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return ""


def name_candidates(value) -> list[str]:
    """Candidate neuron names of one ROI entry.

    A char is one candidate; a cell contributes every char inside it; numbers,
    empties and placeholders such as ``'---'`` contribute none.
    """
    if isinstance(value, str):
        name = value.strip()
        return [name] if name and set(name) != {"-"} else []
    if isinstance(value, list):
        return [n for v in value for n in name_candidates(v)]
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [n for v in value.ravel(order="F") for n in name_candidates(v)]
    return []
