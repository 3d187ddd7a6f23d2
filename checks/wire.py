"""The data-only format in which the grading worker's answers reach the grader.

Student code runs in a worker process (``checks/worker/``). What it returns is encoded here as
a JSON tree plus raw tensor bytes, and decoded by the grader without unpickling anything: the
decoder builds only exact ``torch.Tensor`` / ``torch.nn.Parameter`` (from dtype, shape and
bytes), numpy arrays of numbers, ``int``, ``float``, ``bool``, ``str``, ``None``, and lists,
tuples and dicts of those, plus a few tagged nodes that the grader itself interprets
(``checks.worker.answers`` says which: mirrors of worker modules, exceptions, references to
parameters of an argument). Anything else a student returns (a ``Tensor`` subclass, an object with its own
``__eq__``) is refused on the worker side with a sentence naming its type, and could not be
rebuilt by the grader anyway: the format has no way to name a class to instantiate.

A frame on the wire: 16 bytes (header length, blob length, little-endian), the JSON header,
then the blobs. Messages larger than ``MAX_MESSAGE_BYTES`` are refused.
"""

from __future__ import annotations

import json
import math
import socket
import struct
from typing import Any

import numpy as np
import torch

MAX_MESSAGE_BYTES = 1 << 30  # 1 GiB: an answer larger than this is a memory attack, not data
MAX_DEPTH = 64  # nesting of lists / dicts in an answer

DTYPES = {
    str(dtype).removeprefix("torch."): dtype
    for dtype in (
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        torch.complex64,
        torch.complex128,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.bool,
    )
}
NUMPY_KINDS = set("biufc")


class NotData(Exception):
    """A value that the format cannot carry (the message names its type)."""


class WireError(Exception):
    """A frame or a tree that does not follow the format (a broken or hostile worker)."""


def describe_type(value: Any) -> str:
    kind = type(value)
    return (
        f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__name__
    )


# ----------------------------------------------------------------------------- encoding (worker)


class Encoder:
    """Turns a value into a JSON-able tree plus blobs. ``special`` may claim a value first."""

    def __init__(self, special: Any = None) -> None:
        self.blobs: list[bytes] = []
        self.size = 0
        self.special = special

    def blob(self, data: bytes) -> list[int]:
        start = self.size
        self.blobs.append(data)
        self.size += len(data)
        return [start, len(data)]

    def tensor(self, value: torch.Tensor) -> dict:
        if value.layout != torch.strided or value.is_meta or value.is_quantized:
            raise NotData(f"a {value.layout} tensor")
        name = str(value.dtype).removeprefix("torch.")
        if name not in DTYPES:
            raise NotData(f"a tensor of dtype {value.dtype}")
        plain = value.detach().cpu().contiguous()
        data = plain.reshape(-1).view(torch.uint8).numpy().tobytes() if plain.numel() else b""
        node = {"T": self.blob(data), "dt": name, "sh": list(plain.shape)}
        if value.requires_grad:
            node["rg"] = True
        if type(value) is torch.nn.Parameter:
            node["P"] = True
        return node

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise NotData("a structure nested too deep")
        if self.special is not None:
            claimed = self.special(self, value, depth)
            if claimed is not None:
                return claimed
        kind = type(value)
        if value is None or kind in (bool, str):
            return value
        if kind is int:
            return value if abs(value) < 2**63 else {"I": str(value)}
        if kind is float:
            return value if math.isfinite(value) else {"F": repr(value)}
        if kind in (torch.Tensor, torch.nn.Parameter):
            return self.tensor(value)
        if kind is list:
            return {"L": [self.encode(item, depth + 1) for item in value]}
        if kind is tuple or (isinstance(value, tuple) and kind.__module__ == "torch.return_types"):
            return {"U": [self.encode(item, depth + 1) for item in value]}
        if kind is torch.Size:
            return {"S": [int(item) for item in value]}
        if kind is dict or (kind.__module__ == "collections" and isinstance(value, dict)):
            return {
                "D": [
                    [self.encode(key, depth + 1), self.encode(item, depth + 1)]
                    for key, item in value.items()
                ]
            }
        if kind is np.ndarray and value.dtype.kind in NUMPY_KINDS:
            plain = np.ascontiguousarray(value)
            return {"N": self.blob(plain.tobytes()), "dt": plain.dtype.str, "sh": list(plain.shape)}
        if (
            isinstance(value, np.generic)
            and kind.__module__ == "numpy"
            and value.dtype.kind in NUMPY_KINDS
        ):
            return {"n": self.blob(value.tobytes()), "dt": value.dtype.str}
        if kind is torch.dtype:
            return {"dtype": str(value).removeprefix("torch.")}
        if value is NotImplemented:
            return {"X": "NotImplemented"}
        if value is Ellipsis:
            return {"X": "Ellipsis"}
        if isinstance(value, torch.Tensor):
            raise NotData(f"a tensor subclass ({describe_type(value)})")
        raise NotData(f"a {describe_type(value)}")


def encode(value: Any, special: Any = None) -> bytes:
    """One frame holding ``value``; raises ``NotData`` naming what cannot be carried."""
    encoder = Encoder(special)
    tree = encoder.encode(value)
    header = json.dumps(tree, separators=(",", ":"), allow_nan=False).encode()
    return struct.pack("<QQ", len(header), encoder.size) + header + b"".join(encoder.blobs)


# ----------------------------------------------------------------------------- decoding (grader)


class Decoder:
    """Rebuilds a value from a tree; ``special(decoder, node)`` handles the tags it knows."""

    def __init__(self, blobs: bytes | memoryview, special: Any = None) -> None:
        self.blobs = memoryview(blobs)
        self.special = special

    def data(self, span: Any) -> bytes:
        if not (
            isinstance(span, list)
            and len(span) == 2
            and all(type(x) is int and x >= 0 for x in span)
            and span[0] + span[1] <= len(self.blobs)
        ):
            raise WireError("a blob reference outside the message")
        return bytes(self.blobs[span[0] : span[0] + span[1]])

    def shape(self, node: dict) -> list[int]:
        shape = node.get("sh")
        if not isinstance(shape, list) or not all(type(x) is int and x >= 0 for x in shape):
            raise WireError("a tensor shape that is not a list of sizes")
        return shape

    def tensor(self, node: dict) -> torch.Tensor:
        dtype = DTYPES.get(node.get("dt"))
        if dtype is None:
            raise WireError(f"a tensor of unknown dtype {node.get('dt')!r}")
        shape = self.shape(node)
        data = self.data(node["T"])
        count = math.prod(shape)
        itemsize = torch.empty((), dtype=dtype).element_size()
        if len(data) != count * itemsize:
            raise WireError("a tensor whose bytes do not match its shape")
        if count == 0:
            value = torch.empty(shape, dtype=dtype)
        else:
            value = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(dtype).reshape(shape)
        if node.get("P") is True:
            return torch.nn.Parameter(value, requires_grad=node.get("rg") is True)
        if node.get("rg") is True and (value.is_floating_point() or value.is_complex()):
            value.requires_grad_(True)
        return value

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("a structure nested too deep")
        kind = type(node)
        if node is None or kind in (bool, int, float, str):
            return node
        if kind is list:
            raise WireError("a bare list node")
        if kind is not dict or not node:
            raise WireError(f"a node of type {kind.__name__}")
        if self.special is not None:
            found, value = self.special(self, node, depth)
            if found:
                return value
        if "T" in node:
            return self.tensor(node)
        if "L" in node:
            return [self.decode(item, depth + 1) for item in self.items(node["L"])]
        if "U" in node:
            return tuple(self.decode(item, depth + 1) for item in self.items(node["U"]))
        if "S" in node:
            return torch.Size(self.shape({"sh": node["S"]}))
        if "D" in node:
            result = {}
            for pair in self.items(node["D"]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise WireError("a dict entry that is not a pair")
                key = self.decode(pair[0], depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise WireError("an unhashable dict key") from None
                result[key] = self.decode(pair[1], depth + 1)
            return result
        if "I" in node:
            return int(self.string(node["I"]))
        if "F" in node:
            text = self.string(node["F"])
            if text not in ("nan", "inf", "-inf"):
                raise WireError("a float that is not a number")
            return float(text)
        if "N" in node or "n" in node:
            dtype = np.dtype(self.string(node["dt"]))
            if dtype.kind not in NUMPY_KINDS or dtype.hasobject:
                raise WireError("a numpy array of non-numbers")
            if "n" in node:
                data = self.data(node["n"])
                if len(data) != dtype.itemsize:
                    raise WireError("a numpy scalar of the wrong size")
                return np.frombuffer(data, dtype=dtype)[0]
            shape = self.shape(node)
            data = self.data(node["N"])
            if len(data) != math.prod(shape) * dtype.itemsize:
                raise WireError("a numpy array whose bytes do not match its shape")
            return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)
        if "dtype" in node:
            dtype = DTYPES.get(node["dtype"])
            if dtype is None:
                raise WireError("an unknown dtype")
            return dtype
        if "X" in node:
            return {"NotImplemented": NotImplemented, "Ellipsis": Ellipsis}[self.string(node["X"])]
        raise WireError(f"an unknown node {sorted(node)[:3]}")

    @staticmethod
    def items(value: Any) -> list:
        if not isinstance(value, list):
            raise WireError("a container node without a list")
        return value

    @staticmethod
    def string(value: Any) -> str:
        if not isinstance(value, str):
            raise WireError("a string field that is not a string")
        return value


def decode(frame: bytes, special: Any = None) -> Any:
    """The value in a frame made by ``encode`` (raises ``WireError`` on anything else)."""
    if len(frame) < 16:
        raise WireError("a frame shorter than its header")
    header_size, blob_size = struct.unpack_from("<QQ", frame)
    if 16 + header_size + blob_size != len(frame):
        raise WireError("a frame whose sizes do not add up")
    try:
        tree = json.loads(bytes(frame[16 : 16 + header_size]))
    except (ValueError, RecursionError) as error:
        raise WireError(f"a header that is not JSON ({type(error).__name__})") from None
    try:
        return Decoder(memoryview(frame)[16 + header_size :], special).decode(tree)
    except RecursionError:
        raise WireError("a structure nested too deep") from None


# ----------------------------------------------------------------------------- framing


def send_frame(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    """One message: a 1-byte kind, an 8-byte length, the payload."""
    sock.sendall(kind + struct.pack("<Q", len(payload)) + payload)


def recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 22))
        if not chunk:
            raise EOFError("the other end closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> tuple[bytes, bytes]:
    head = recv_exact(sock, 9)
    (size,) = struct.unpack("<Q", head[1:])
    if size > MAX_MESSAGE_BYTES:
        raise WireError(f"a message of {size} bytes (more than {MAX_MESSAGE_BYTES})")
    return head[:1], recv_exact(sock, size)
