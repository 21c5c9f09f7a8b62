"""A minimal reader of ONNX files: the graph's nodes and initializers, with no dependency.

ONNX files are protocol buffers (onnx/onnx.proto). Only the fields the converter needs are
decoded: ModelProto.graph (7); GraphProto.node (1), initializer (5), input (11), output (12);
NodeProto.input (1), output (2), name (3), op_type (4), attribute (5); AttributeProto.name (1),
f (2), i (3), t (5); TensorProto.dims (1), data_type (2), float_data (4), name (8), raw_data (9).
"""

import struct

# TensorProto.DataType values used by real checkpoints.
FLOAT, INT64, FLOAT16, BFLOAT16 = 1, 7, 10, 16
DTYPE_NAMES = {FLOAT: "F32", INT64: "I64", FLOAT16: "F16", BFLOAT16: "BF16"}
DTYPE_BYTES = {FLOAT: 4, INT64: 8, FLOAT16: 2, BFLOAT16: 2}


def _varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated ONNX file (varint runs past the end)")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("malformed ONNX file (varint longer than 10 bytes)")


def fields(buf):
    """Yields (field number, wire type, value) for each field of one message."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise ValueError("truncated ONNX file (a field runs past the end)")
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"malformed ONNX file (wire type {wire})")
        yield number, wire, value


def _packed_varints(value):
    out, pos = [], 0
    while pos < len(value):
        v, pos = _varint(value, pos)
        out.append(v)
    return out


class Tensor:
    """An initializer: name, dims, ONNX data type and little-endian raw bytes."""

    def __init__(self, message):
        self.name, self.dims, self.data_type, self.raw = "", [], FLOAT, b""
        floats = []
        for number, wire, value in fields(message):
            if number == 1:
                self.dims += _packed_varints(value) if wire == 2 else [value]
            elif number == 2:
                self.data_type = value
            elif number == 4:
                floats += (struct.unpack(f"<{len(value) // 4}f", value) if wire == 2
                           else [struct.unpack("<f", value)[0]])
            elif number == 8:
                self.name = bytes(value).decode()
            elif number == 9:
                self.raw = bytes(value)
        if not self.raw and floats:
            self.raw = struct.pack(f"<{len(floats)}f", *floats)
        count = 1
        for d in self.dims:
            count *= d
        expected = count * DTYPE_BYTES.get(self.data_type, 0)
        if self.data_type not in DTYPE_NAMES or len(self.raw) != expected:
            raise ValueError(f"initializer {self.name!r}: type {self.data_type}, "
                             f"{len(self.raw)} bytes for dims {self.dims}")


def _attribute(message):
    name, value = "", None
    for number, _, field in fields(message):
        if number == 1:
            name = bytes(field).decode()
        elif number == 2:
            value = struct.unpack("<f", field)[0]
        elif number == 3:
            value = field
        elif number == 5:
            value = Tensor(field)
    return name, value


class Node:
    def __init__(self, message):
        self.inputs, self.outputs, self.name, self.op = [], [], "", ""
        self.attributes = {}
        for number, _, value in fields(message):
            if number == 5:
                key, attr = _attribute(value)
                self.attributes[key] = attr
            elif number == 1:
                self.inputs.append(bytes(value).decode())
            elif number == 2:
                self.outputs.append(bytes(value).decode())
            elif number == 3:
                self.name = bytes(value).decode()
            elif number == 4:
                self.op = bytes(value).decode()


class Graph:
    """The nodes (in file order, which ONNX requires to be topological) and initializers."""

    def __init__(self, model_bytes):
        graph = None
        for number, _, value in fields(memoryview(model_bytes)):
            if number == 7:
                graph = value
        if graph is None:
            raise ValueError("not an ONNX model: no graph field")
        self.nodes, self.initializers = [], {}
        for number, _, value in fields(graph):
            if number == 1:
                self.nodes.append(Node(value))
            elif number == 5:
                tensor = Tensor(value)
                self.initializers[tensor.name] = tensor
        self.consumers, self.producer = {}, {}
        for node in self.nodes:
            for name in node.inputs:
                self.consumers.setdefault(name, []).append(node)
            for name in node.outputs:
                self.producer[name] = node

    def scalar(self, name):
        """The value of a scalar float constant, from an initializer or a Constant node."""
        tensor = self.initializers.get(name)
        if tensor is None:
            node = self.producer.get(name)
            if node is None or node.op != "Constant" or "value" not in node.attributes:
                raise ValueError(f"{name!r} is not a constant")
            tensor = node.attributes["value"]
        if tensor.data_type != FLOAT or len(tensor.raw) != 4:
            raise ValueError(f"{name!r} is not a scalar float")
        return struct.unpack("<f", tensor.raw)[0]
