#!/usr/bin/python3
"""ONNX files written by others, checked against edgepipe's importer.

Usage: onnx_models.py EDGEPIPE MODE    (MODE: models | bad | export | emu)

models: small networks built here with the onnx package's helper API (Debian python3-onnx),
        imported with `edgepipe model show FILE.onnx --format json`; every layer's shape must
        equal onnx.shape_inference's shape of the node's output (an independent
        implementation), and parameters must equal the counts derived by hand below.
bad:    broken files (truncated, not ONNX, unsupported op, cycle, shape mismatch, initializer
        of the wrong size, two inputs): `edgepipe model import F.onnx -o OUT` exits 2, names
        the node (or tensor) at fault, and writes nothing.
export: zoo models written by `edgepipe model export NAME --format onnx` pass
        onnx.checker.check_model with full_check (strict shape inference: every value_info we
        write must agree with onnx's own inference), and onnx's inferred shape of every
        tensor equals the layer shape `edgepipe model show NAME` prints.
emu:    `edgepipe emu --compute real` (root) on a file built here runs the file's weights: its
        outputs equal a numpy evaluation of the file (evaluate() below).
Exit status: 0 all passed, 1 a check failed, 77 skipped (no onnx package).
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper, shape_inference
except ImportError:
    print("skipped: python3-onnx (and numpy) are not installed")
    sys.exit(77)

EP = sys.argv[1]
MODE = sys.argv[2] if len(sys.argv) > 2 else "models"
failures = 0
rng = np.random.default_rng(7)


def check(name, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    if not ok:
        failures += 1


def init(name, *dims):
    return numpy_helper.from_array(rng.standard_normal(dims).astype(np.float32), name)


def const_i64(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def const_f(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.float32), name)


def bn(name, x, c, out, inits):
    inits += [init(name + "_s", c), init(name + "_b", c), init(name + "_m", c),
              numpy_helper.from_array(rng.uniform(0.5, 1.5, c).astype(np.float32), name + "_v")]
    return helper.make_node("BatchNormalization", [x, name + "_s", name + "_b", name + "_m",
                                                   name + "_v"], [out], name=name, epsilon=1e-5)


def small_cnn():
    """A CNN with a residual block and a two-way branch joined by Concat.

    Hand-counted parameters (weights + bias; BN: 4 x channels, 2 x trainable):
      conv1  3x3, 3->16, bias        3*3*3*16 + 16 = 448
      bn1    16 channels             4*16          = 64
      res_a  3x3, 16->16, no bias    3*3*16*16     = 2304
      bn2                                          = 64
      res_b  3x3, 16->16, no bias                  = 2304
      br_a   1x1, 16->8, bias        16*8 + 8      = 136
      br_dw  3x3 depthwise, bias     3*3*16 + 16   = 160
      br_pw  1x1, 16->8, bias        16*8 + 8      = 136
      fc     Gemm 16->10, bias       16*10 + 10    = 170
    """
    inits = []
    nodes = [
        helper.make_node("Conv", ["image", "conv1_w", "conv1_bias"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        bn("bn1", "c1", 16, "b1", inits),
        helper.make_node("Relu", ["b1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "res_a_w"], ["ra"], name="res_a", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        bn("bn2", "ra", 16, "b2", inits),
        helper.make_node("Relu", ["b2"], ["r2"], name="relu2"),
        helper.make_node("Conv", ["r2", "res_b_w"], ["rb"], name="res_b", kernel_shape=[3, 3],
                         auto_pad="SAME_UPPER"),
        helper.make_node("Add", ["r1", "rb"], ["sum"], name="residual_add"),
        helper.make_node("Relu", ["sum"], ["r3"], name="relu3"),
        helper.make_node("Conv", ["r3", "br_a_w", "br_a_bias"], ["ba"], name="br_a",
                         kernel_shape=[1, 1]),
        helper.make_node("Conv", ["r3", "br_dw_w", "br_dw_bias"], ["bd"], name="br_dw",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=16),
        helper.make_node("Conv", ["bd", "br_pw_w", "br_pw_bias"], ["bp"], name="br_pw",
                         kernel_shape=[1, 1]),
        helper.make_node("Concat", ["ba", "bp"], ["cat"], name="concat", axis=1),
        helper.make_node("MaxPool", ["cat"], ["mp"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["mp"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_bias"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
    ]
    inits += [init("conv1_w", 16, 3, 3, 3), init("conv1_bias", 16), init("res_a_w", 16, 16, 3, 3),
              init("res_b_w", 16, 16, 3, 3), init("br_a_w", 8, 16, 1, 1), init("br_a_bias", 8),
              init("br_dw_w", 16, 1, 3, 3), init("br_dw_bias", 16), init("br_pw_w", 8, 16, 1, 1),
              init("br_pw_bias", 8), init("fc_w", 10, 16), init("fc_bias", 10)]
    graph = helper.make_graph(
        nodes, "small_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 10])], inits)
    params = {"conv1": 448, "bn1": 64, "res_a": 2304, "bn2": 64, "res_b": 2304, "br_a": 136,
              "br_dw": 160, "br_pw": 136, "fc": 170}
    # GlobalAveragePool + Flatten is one Keras layer, named after the Flatten.
    merged = {"gap"}
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), params, merged


def ops_net():
    """Other operators exported CNNs use: Pad, Clip (ReLU6), swish (Sigmoid + Mul), AveragePool
    with Keras-'same' pads, Transpose + Flatten (keras2onnx), Dropout, Identity, a scalar Mul
    (Rescaling), Reshape with -1, MatMul + Add (Dense).

    Hand-counted parameters:
      stem   3x3 stride 2, 3->8, no bias   3*3*3*8      = 216
      dw     3x3 depthwise x2 (multiplier 2), bias 3*3*8*2 + 16 = 160
      proj   1x1, 16->4, bias              16*4 + 4     = 68
    (image 31x31, padded 32x32, stem 15x15 (valid, stride 2), avg 8x8 ('same', stride 2), so
    the flattened projection has 8*8*4 = 256 elements)
      dense  MatMul 256 -> 5 + Add          256*5 + 5    = 1285
    """
    nodes = [
        helper.make_node("Mul", ["image", "scale"], ["scaled"], name="rescale"),
        helper.make_node("Pad", ["scaled", "pads"], ["padded"], name="pad", mode="constant"),
        helper.make_node("Conv", ["padded", "stem_w"], ["s"], name="stem", kernel_shape=[3, 3],
                         strides=[2, 2]),
        helper.make_node("Clip", ["s", "zero", "six"], ["s6"], name="relu6"),
        helper.make_node("Conv", ["s6", "dw_w", "dw_bias"], ["d"], name="dw",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8),
        helper.make_node("Sigmoid", ["d"], ["sig"], name="swish_sigmoid"),
        helper.make_node("Mul", ["d", "sig"], ["sw"], name="swish"),
        helper.make_node("AveragePool", ["sw"], ["ap"], name="avg", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["ap", "proj_w", "proj_bias"], ["p"], name="proj",
                         kernel_shape=[1, 1]),
        helper.make_node("Identity", ["p"], ["p_id"], name="identity"),
        helper.make_node("Transpose", ["p_id"], ["t"], name="to_nhwc", perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["t", "flat_shape"], ["f"], name="flatten"),
        helper.make_node("Dropout", ["f"], ["dr"], name="dropout"),
        helper.make_node("MatMul", ["dr", "dense_w"], ["mm"], name="dense_matmul"),
        helper.make_node("Add", ["mm", "dense_b"], ["out"], name="dense"),
    ]
    inits = [const_f("scale", 1 / 255.0), const_i64("pads", [0, 0, 1, 1, 0, 0, 0, 0]),
             init("stem_w", 8, 3, 3, 3), const_f("zero", 0.0), const_f("six", 6.0),
             init("dw_w", 16, 1, 3, 3), init("dw_bias", 16), init("proj_w", 4, 16, 1, 1),
             init("proj_bias", 4), const_i64("flat_shape", [1, -1]), init("dense_w", 256, 5),
             init("dense_b", 5)]
    graph = helper.make_graph(
        nodes, "ops_net",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 31, 31])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 5])], inits)
    params = {"stem": 216, "dw": 160, "proj": 68, "dense": 1285}
    merged = {"swish_sigmoid", "to_nhwc", "dense_matmul", "identity"}
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), params, merged


def mnv3_like():
    """The activations of exported MobileNetV3s and detectors: HardSwish (opset 14), a
    squeeze-and-excitation gate through HardSigmoid (alpha 1/6, beta 1/2, as PyTorch writes
    Hardsigmoid), HardSigmoid + Mul (PyTorch's Hardswish before opset 14: one layer, named
    after the Mul), LeakyRelu (alpha 0.1).

    Hand-counted parameters:
      stem       3x3 stride 2, 3->16, bias   3*3*3*16 + 16 = 448
      dw         3x3 depthwise, bias         3*3*16 + 16   = 160
      se_reduce  1x1, 16->4, bias            16*4 + 4      = 68
      se_expand  1x1, 4->16, bias            4*16 + 16     = 80
      proj       1x1, 16->24, bias           16*24 + 24    = 408
      fc         Gemm 24->10, bias           24*10 + 10    = 250
    """
    hs = dict(alpha=1.0 / 6, beta=0.5)
    nodes = [
        helper.make_node("Conv", ["image", "stem_w", "stem_b"], ["s"], name="stem",
                         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("HardSwish", ["s"], ["sh"], name="stem_hswish"),
        helper.make_node("Conv", ["sh", "dw_w", "dw_b"], ["d"], name="dw", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], group=16),
        helper.make_node("Relu", ["d"], ["dr"], name="dw_relu"),
        helper.make_node("GlobalAveragePool", ["dr"], ["sp"], name="se_pool"),
        helper.make_node("Conv", ["sp", "ser_w", "ser_b"], ["sr"], name="se_reduce",
                         kernel_shape=[1, 1]),
        helper.make_node("Relu", ["sr"], ["srr"], name="se_relu"),
        helper.make_node("Conv", ["srr", "see_w", "see_b"], ["se"], name="se_expand",
                         kernel_shape=[1, 1]),
        helper.make_node("HardSigmoid", ["se"], ["sg"], name="se_hsig", **hs),
        helper.make_node("Mul", ["dr", "sg"], ["sm"], name="se_mul"),
        helper.make_node("Conv", ["sm", "proj_w", "proj_b"], ["p"], name="proj",
                         kernel_shape=[1, 1]),
        helper.make_node("HardSigmoid", ["p"], ["ph"], name="proj_hsig", **hs),
        helper.make_node("Mul", ["p", "ph"], ["pw"], name="proj_hswish"),
        helper.make_node("LeakyRelu", ["pw"], ["lk"], name="leaky", alpha=0.1),
        helper.make_node("GlobalAveragePool", ["lk"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1),
    ]
    inits = [init("stem_w", 16, 3, 3, 3), init("stem_b", 16), init("dw_w", 16, 1, 3, 3),
             init("dw_b", 16), init("ser_w", 4, 16, 1, 1), init("ser_b", 4),
             init("see_w", 16, 4, 1, 1), init("see_b", 16), init("proj_w", 24, 16, 1, 1),
             init("proj_b", 24), init("fc_w", 10, 24), init("fc_b", 10)]
    # Weights scaled to about 1 / sqrt(fan-in), so that activations stay where HardSigmoid
    # and HardSwish bend (|x| < 3) instead of saturating.
    for t in inits:
        a = numpy_helper.to_array(t)
        fan = np.prod(a.shape[1:]) if a.ndim > 1 else 4
        t.CopyFrom(numpy_helper.from_array((a / np.sqrt(fan)).astype(np.float32), t.name))
    graph = helper.make_graph(
        nodes, "mnv3_like",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    params = {"stem": 448, "dw": 160, "se_reduce": 68, "se_expand": 80, "proj": 408,
              "fc": 250}
    merged = {"proj_hsig", "gap"}
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), params, merged


def flatten_orders(tmp):
    """PyTorch flattens an image in C,H,W order (plain Flatten, or x.view(x.size(0), -1):
    Shape, Gather, Unsqueeze, Concat, Reshape), keras2onnx in H,W,C order (Transpose then
    Flatten). The same network written the three ways, the H,W,C one with the Gemm's rows
    permuted by numpy, must import to the same graph and the same weights file: the importer
    computes the view's shape itself and reorders the C,H,W files' rows."""
    c, h, w, units = 3, 4, 5, 6
    conv_w = init("conv_w", c, 2, 1, 1)
    gemm_chw = rng.standard_normal((c * h * w, units)).astype(np.float32)
    # Row (y, x, k) of the H,W,C order is row (k, y, x) of the C,H,W order.
    gemm_hwc = gemm_chw.reshape(c, h, w, units).transpose(1, 2, 0, 3).reshape(-1, units)
    files = []
    for name, how, gw in (("chw", "flatten", gemm_chw), ("hwc", "transpose", gemm_hwc),
                          ("view", "view", gemm_chw)):
        nodes = [helper.make_node("Conv", ["x", "conv_w"], ["c"], name="conv",
                                  kernel_shape=[1, 1])]
        inits = [conv_w, numpy_helper.from_array(gw, "gw")]
        flat_in = "c"
        if how == "transpose":
            nodes.append(helper.make_node("Transpose", ["c"], ["t"], name="transpose",
                                          perm=[0, 2, 3, 1]))
            flat_in = "t"
        if how == "view":  # as torch.onnx writes x.view(x.size(0), -1)
            nodes += [helper.make_node("Shape", ["c"], ["s"], name="/Shape"),
                      helper.make_node("Gather", ["s", "zero"], ["n"], name="/Gather", axis=0),
                      helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="/Unsqueeze"),
                      helper.make_node("Concat", ["n1", "minus1"], ["shape"], name="/Concat",
                                       axis=0),
                      helper.make_node("Reshape", ["c", "shape"], ["f"], name="flatten")]
            inits += [numpy_helper.from_array(np.array(0, np.int64), "zero"),
                      const_i64("axes", [0]), const_i64("minus1", [-1])]
        else:
            nodes.append(helper.make_node("Flatten", [flat_in], ["f"], name="flatten"))
        nodes.append(helper.make_node("Gemm", ["f", "gw"], ["y"], name="fc"))
        graph = helper.make_graph(
            nodes, "flat", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                          ["N", 2, h, w])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", units])], inits)
        path = os.path.join(tmp, name + ".onnx")
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
        wpath = os.path.join(tmp, name + ".bin")
        r = subprocess.run([EP, "model", "import", path, "--weights-out", wpath],
                           capture_output=True, text=True)
        check(f"flatten {name}: import exits 0", r.returncode == 0, r.stderr.strip())
        files.append((r.stdout, open(wpath, "rb").read() if r.returncode == 0 else b""))
    for k, what in ((1, "H,W,C"), (2, "view")):
        check(f"flatten C,H,W and {what} files: the same model file",
              files[0][0] == files[k][0], f"{files[0][0]}\n{files[k][0]}")
        check(f"flatten C,H,W and {what} files: the same weights, byte for byte",
              files[0][1] == files[k][1] and
              len(files[0][1]) == 4 * (3 * 2 + c * h * w * units))


def torch_like():
    """As torch.onnx names and pads: '/conv1/Conv', symmetric pads that are not Keras's
    'same' (a ZeroPadding2D layer '<node>_pad' is added), a MaxPool padded after a ReLU, a
    dynamic batch, GlobalAveragePool + Flatten, Gemm with transB.

    Hand-counted parameters:
      /conv1/Conv  3x3, 3->8, no bias   3*3*3*8 = 216
      /fc/Gemm     8 -> 10, bias        8*10+10 = 90
    """
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="/conv1/Conv", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="/relu/Relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="/maxpool/MaxPool", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"], name="/avgpool/GlobalAveragePool"),
        helper.make_node("Flatten", ["g"], ["f"], name="/Flatten"),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="/fc/Gemm", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "torch_like",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 64, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        [init("w", 8, 3, 3, 3), init("fw", 10, 8), init("fb", 10)])
    params = {"/conv1/Conv": 216, "/fc/Gemm": 90}
    merged = {"/avgpool/GlobalAveragePool"}
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), params, merged


def separable_model(name, pointwise, extra_nodes=(), extra_inits=(), bias=None, dw=None):
    """A separable pair as our exporter writes it: "L/depthwise" Conv (group 4, weights `dw`,
    random when None) then "L" 1x1 Conv reading `pointwise` (with `bias` when given), on a
    [1, 4, 8, 8] image."""
    inputs = ["L/depthwise", pointwise] + ([bias] if bias else [])
    nodes = list(extra_nodes) + [
        helper.make_node("Conv", ["x", "dw"], ["L/depthwise"], name="L/depthwise", group=4,
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", inputs, ["L"], name="L", kernel_shape=[1, 1]),
    ]
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("L", TensorProto.FLOAT, None)],
        [dw if dw is not None else init("dw", 4, 1, 3, 3)] + list(extra_inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def separable_constant(tmp):
    """The pointwise weights of a separable pair as a Constant node read as an initializer's
    (the weights step looked among the initializers only: 'the pointwise weights are not
    initializers', although the graph imported)."""
    pw, dw = init("pw", 6, 4, 1, 1), init("dw", 4, 1, 3, 3)
    out = []
    for name, model in (
            ("sep_init", separable_model("sep", "pw", extra_inits=[pw], dw=dw)),
            ("sep_const", separable_model("sep", "pw_c", dw=dw, extra_nodes=[
                helper.make_node("Constant", [], ["pw_c"], name="pw_c", value=pw)]))):
        path = os.path.join(tmp, name + ".onnx")
        wpath = os.path.join(tmp, name + ".bin")
        onnx.save(model, path)
        r = subprocess.run([EP, "model", "import", path, "--weights-out", wpath],
                           capture_output=True, text=True)
        check(f"separable pair, pointwise W as {name}: import with weights exits 0",
              r.returncode == 0, r.stderr.strip())
        out.append((r.stdout, open(wpath, "rb").read() if r.returncode == 0 else b""))
    check("separable pair: a Constant pointwise W gives the initializer's model and weights",
          out[0] == out[1] and "SeparableConv2D" in out[0][0] and
          len(out[0][1]) == 4 * (4 * 9 + 6 * 4), f"{out[0][0]}\n{out[1][0]}")


def nchw(shape):
    return [1, shape[2], shape[0], shape[1]] if len(shape) == 3 else [1] + shape


def run_models(tmp):
    for build in (small_cnn, ops_net, torch_like, mnv3_like):
        model, params, merged = build()
        name = model.graph.name
        path = os.path.join(tmp, name + ".onnx")
        onnx.checker.check_model(model)
        onnx.save(model, path)
        inferred = shape_inference.infer_shapes(model)
        shapes = {}
        for vi in list(inferred.graph.value_info) + list(inferred.graph.output) + \
                list(inferred.graph.input):
            dims = [d.dim_value if d.HasField("dim_value") else 1
                    for d in vi.type.tensor_type.shape.dim]
            shapes[vi.name] = dims
        r = subprocess.run([EP, "model", "show", path, "--format", "json", "--table", "layers"],
                           capture_output=True, text=True)
        check(name + ": import exits 0", r.returncode == 0, r.stderr.strip())
        if r.returncode:
            continue
        layers = {l["layer"]: l for l in json.loads(r.stdout)["layers"]}
        for node in model.graph.node:
            if node.name in merged:
                check(f"{name}: node {node.name} is part of another layer",
                      node.name not in layers, "it became a layer of its own")
                continue
            layer = layers.get(node.name)
            check(f"{name}: node {node.name} is a layer", layer is not None, "missing")
            if layer is None:
                continue
            want = shapes[node.output[0]]
            got = nchw(layer["shape"])
            check(f"{name}: {node.name} shape {got} = shape_inference {want}", got == want,
                  f"edgepipe {got}, onnx {want}")
            if node.name in params:
                p = layer["params_trainable"] + layer["params_non_trainable"]
                check(f"{name}: {node.name} params {p} = {params[node.name]} by hand",
                      p == params[node.name], f"edgepipe {p}")
        # Exported by us and imported again: the same layer table (the added pad layers'
        # names must not read as parts of the layer they pad).
        again = os.path.join(tmp, name + "_again.onnx")
        r2 = subprocess.run([EP, "model", "export", path, "--format", "onnx", "-o", again],
                            capture_output=True, text=True)
        r3 = subprocess.run([EP, "model", "show", again, "--format", "json", "--table",
                             "layers"], capture_output=True, text=True)
        check(f"{name}: exported again and imported, the same layers",
              r2.returncode == 0 and r3.returncode == 0 and
              json.loads(r3.stdout)["layers"] == json.loads(r.stdout)["layers"],
              (r2.stderr + r3.stderr).strip())
        # ... and the same model file, attributes included (a LeakyRelu's slope, float32 in
        # the file, must come back as the decimal it was).
        f1 = subprocess.run([EP, "model", "import", path], capture_output=True, text=True)
        f2 = subprocess.run([EP, "model", "import", again], capture_output=True, text=True)
        check(f"{name}: exported again and imported, the same model file",
              f1.returncode == 0 and f1.stdout == f2.stdout, (f1.stderr + f2.stderr).strip())
        total = sum(l["params_trainable"] + l["params_non_trainable"] for l in layers.values())
        check(f"{name}: total params {total} = {sum(params.values())} by hand",
              total == sum(params.values()))


def bad_files(tmp):
    model, _, _ = small_cnn()
    good = os.path.join(tmp, "good.onnx")
    onnx.save(model, good)
    data = open(good, "rb").read()
    cases = []

    def write(name, content):
        p = os.path.join(tmp, name + ".onnx")
        with open(p, "wb") as f:
            f.write(content)
        return p

    cases.append(("truncated", write("truncated", data[: len(data) // 2]), "not an ONNX file"))
    cases.append(("not ONNX", write("text", b"edgepipe-model 1\nthis is not protobuf\n"),
                  "not an ONNX file"))

    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.node[2].op_type = "LRN"
    cases.append(("unsupported op", write("unsupported", m.SerializeToString()),
                  "node 'relu1' (LRN)"))

    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.node[2].op_type = "HardSigmoid"  # ONNX's default alpha 0.2, not PyTorch's 1/6
    cases.append(("HardSigmoid with alpha 0.2", write("hsig", m.SerializeToString()),
                  "node 'relu1' (HardSigmoid): HardSigmoid with alpha 0.2"))

    m = onnx.ModelProto()
    m.CopyFrom(model)
    # relu2 reads relu3's output, which depends on relu2: a cycle.
    m.graph.node[3].input[0] = "r3"
    cases.append(("cycle", write("cycle", m.SerializeToString()), "cycle"))

    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.value_info.append(helper.make_tensor_value_info("mp", TensorProto.FLOAT,
                                                            [1, 16, 15, 16]))
    cases.append(("shape mismatch", write("shape", m.SerializeToString()),
                  "node 'pool' (MaxPool)"))

    m = onnx.ModelProto()
    m.CopyFrom(model)
    for t in m.graph.initializer:
        if t.name == "res_a_w":
            t.CopyFrom(numpy_helper.from_array(np.zeros((16, 16, 3, 2), np.float32), "res_a_w"))
    cases.append(("initializer of the wrong size", write("wrongsize", m.SerializeToString()),
                  "node 'res_a' (Conv)"))

    m = onnx.ModelProto()
    m.CopyFrom(model)
    for t in m.graph.initializer:
        if t.name == "fc_bias":
            t.raw_data = t.raw_data[:-4]
    cases.append(("initializer shorter than its dims", write("short", m.SerializeToString()),
                  "fc_bias"))

    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.input.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1, 3]))
    cases.append(("two inputs", write("twoinputs", m.SerializeToString()), "'extra'"))

    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.output.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10]))
    cases.append(("two outputs", write("twooutputs", m.SerializeToString()),
                  "2 outputs ('probs', ...)"))

    for version, needle in ((19, "opset 19 (edgepipe reads 1 to 18)"),
                            (6, "node 'bn1' (BatchNormalization): opset 6's version")):
        m = onnx.ModelProto()
        m.CopyFrom(model)
        m.opset_import[0].version = version
        cases.append((f"opset {version}", write(f"opset{version}", m.SerializeToString()),
                      needle))

    # These crashed the importer (a NULL dereference) instead of being refused: a separable
    # pair whose pointwise W is computed, or a scalar with a bias; a node without an input.
    relu = helper.make_node("Relu", ["x"], ["pw_r"], name="pw_r")
    cases.append(("separable pair, pointwise W computed",
                  write("sep_computed", separable_model("sep", "pw_r", [relu])
                        .SerializeToString()),
                  "node 'L' (Conv): the weights W must be an initializer or constant"))
    cases.append(("separable pair, scalar pointwise W",
                  write("sep_scalar", separable_model(
                      "sep", "pws", extra_inits=[const_f("pws", 2.0), init("b", 4)],
                      bias="b").SerializeToString()),
                  "node 'L' (Conv): not a separable convolution"))
    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.node[2].ClearField("input")
    cases.append(("a Relu without an input", write("noinput", m.SerializeToString()),
                  "node 'relu1' (Relu): no input"))

    m = onnx.ModelProto()
    m.CopyFrom(model)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "H", "W"
    dynamic = write("dynamic", m.SerializeToString())
    cases.append(("unknown height and width", dynamic, "'image' has an unknown dimension"))
    # --input-shape fills unknown dimensions only: it used to be ignored silently where the
    # file fixes them, and to override known channels (the error then came from conv1).
    cases.append(("--input-shape against the file's height", good,
                  "'image' has height 32, the input shape 64x64x3 says 64",
                  "--input-shape", "64x64x3"))
    cases.append(("--input-shape against the file's channels", dynamic,
                  "'image' has channels 3, the input shape 64x48x4 says 4",
                  "--input-shape", "64x48x4"))

    for name, path, needle, *extra in cases:
        out = os.path.join(tmp, "out.model")
        if os.path.exists(out):
            os.unlink(out)
        r = subprocess.run([EP, "model", "import", path, "-o", out, *extra],
                           capture_output=True, text=True)
        check(f"bad file, {name}: exit 2", r.returncode == 2,
              f"exit {r.returncode}: {r.stderr.strip()}")
        check(f"bad file, {name}: message names {needle!r}", needle in r.stderr,
              r.stderr.strip())
        check(f"bad file, {name}: nothing written", not os.path.exists(out))
    # The intact file imports (so the failures above come from the damage).
    out = os.path.join(tmp, "out.model")
    r = subprocess.run([EP, "model", "import", good, "-o", out], capture_output=True, text=True)
    check("intact file imports", r.returncode == 0 and os.path.exists(out), r.stderr.strip())
    r = subprocess.run([EP, "model", "import", dynamic, "--input-shape", "64x48x3", "-o", out],
                       capture_output=True, text=True)
    r2 = subprocess.run([EP, "model", "show", out, "--format", "json", "--table", "layers"],
                        capture_output=True, text=True)
    shapes = [l["shape"] for l in json.loads(r2.stdout)["layers"][:2]] if not r.returncode and \
        not r2.returncode else []
    check("unknown height and width with --input-shape 64x48x3: the input and conv1 shapes",
          shapes == [[64, 48, 3], [64, 48, 16]], f"{shapes} {r.stderr.strip()}")


def exported(tmp):
    # The small zoo models: every layer kind the exporter writes except VGG's Flatten of a
    # 7x7 map, InceptionResNetV2's Lambda and InceptionV3's BatchNormalization without gamma
    # (files of 90 to 550 MB, too slow here; all passed this check by hand when it was
    # written).
    for name in ("mobilenet", "mobilenetv2", "efficientnetb0", "densenet121", "xception"):
        path = os.path.join(tmp, name + ".onnx")
        r = subprocess.run([EP, "model", "export", name, "--format", "onnx", "-o", path],
                           capture_output=True, text=True)
        check(f"{name}: export exits 0", r.returncode == 0, r.stderr.strip())
        if r.returncode:
            continue
        model = onnx.load(path)
        try:
            onnx.checker.check_model(model, full_check=True)
            check(f"{name}: onnx.checker.check_model(full_check=True)", True)
        except Exception as e:  # the checker's own exception types vary by version
            check(f"{name}: onnx.checker.check_model(full_check=True)", False, str(e)[:300])
        # Shapes by onnx's inference alone (our value_info removed first).
        del model.graph.value_info[:]
        inferred = shape_inference.infer_shapes(model, strict_mode=True)
        shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
                  for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
        r = subprocess.run([EP, "model", "show", name, "--format", "json", "--table",
                            "layers"], capture_output=True, text=True)
        layers = json.loads(r.stdout)["layers"]
        bad = [l["layer"] for l in layers[1:] if shapes.get(l["layer"]) != nchw(l["shape"])]
        check(f"{name}: {len(layers) - 1} layer shapes = onnx shape inference", not bad,
              f"{len(bad)} differ, first {bad[:3]}: onnx {shapes.get(bad[0]) if bad else ''}")
        os.unlink(path)
    # An exported file exported again (graph and weights read from it) is the same bytes.
    a, b = os.path.join(tmp, "a.onnx"), os.path.join(tmp, "b.onnx")
    r1 = subprocess.run([EP, "model", "export", "mobilenet", "--format", "onnx", "-o", a,
                         "--seed", "5"], capture_output=True, text=True)
    r2 = subprocess.run([EP, "model", "export", a, "--format", "onnx", "-o", b],
                        capture_output=True, text=True)
    check("export of an exported file: the same bytes", r1.returncode == 0 and
          r2.returncode == 0 and open(a, "rb").read() == open(b, "rb").read(),
          r1.stderr.strip() + r2.stderr.strip())
    r = subprocess.run([EP, "model", "export", "resnet50", "--format", "onnx"],
                       capture_output=True, text=True)
    check("export --format onnx without -o: exit 2", r.returncode == 2, r.stderr.strip())


def evaluate(model, x):
    """The model's output for input x (NCHW), by numpy: an interpreter of the ops the files
    of this test use, written from the ONNX operator specification, independent of
    edgepipe's executor (float64)."""
    v = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    v[model.graph.input[0].name] = x.astype(np.float64)

    def attr(node, name, default):
        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    def pads_of(node, h, w, kh, kw, sh, sw):
        if attr(node, "auto_pad", b"NOTSET") == b"SAME_UPPER":
            ph = max((-(-h // sh) - 1) * sh + kh - h, 0)
            pw = max((-(-w // sw) - 1) * sw + kw - w, 0)
            return [ph // 2, pw // 2, ph - ph // 2, pw - pw // 2]
        return list(attr(node, "pads", [0, 0, 0, 0]))

    def windows(a, kh, kw, sh, sw, p, fill):
        a = np.pad(a, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])), constant_values=fill)
        oh, ow = (a.shape[2] - kh) // sh + 1, (a.shape[3] - kw) // sw + 1
        win = np.empty(a.shape[:2] + (oh, ow, kh, kw))
        for i in range(kh):
            for j in range(kw):
                win[:, :, :, :, i, j] = a[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
        return win

    for n in model.graph.node:
        a = [v[i] for i in n.input if i]
        op = n.op_type
        if op == "Conv":
            wt = a[1]
            g = attr(n, "group", 1)
            kh, kw = wt.shape[2:]
            sh, sw = attr(n, "strides", [1, 1])
            win = windows(a[0], kh, kw, sh, sw, pads_of(n, *a[0].shape[2:], kh, kw, sh, sw), 0)
            og, ig = wt.shape[0] // g, a[0].shape[1] // g
            y = np.concatenate([np.einsum("ncyxij,ocij->noyx", win[:, k * ig:(k + 1) * ig],
                                          wt[k * og:(k + 1) * og]) for k in range(g)], axis=1)
            if len(a) > 2:
                y += a[2][None, :, None, None]
        elif op == "BatchNormalization":
            s, b, m, var = (t[None, :, None, None] for t in a[1:5])
            y = (a[0] - m) / np.sqrt(var + attr(n, "epsilon", 1e-5)) * s + b
        elif op == "Relu":
            y = np.maximum(a[0], 0)
        elif op == "HardSigmoid":
            y = np.clip(attr(n, "alpha", 0.2) * a[0] + attr(n, "beta", 0.5), 0, 1)
        elif op == "HardSwish":
            y = a[0] * np.clip(a[0] / 6 + 0.5, 0, 1)
        elif op == "LeakyRelu":
            y = np.where(a[0] >= 0, a[0], attr(n, "alpha", 0.01) * a[0])
        elif op in ("Add", "Sum"):
            y = a[0] + a[1]
        elif op == "Mul":
            y = a[0] * a[1]
        elif op == "Concat":
            y = np.concatenate(a, axis=attr(n, "axis", 1))
        elif op == "MaxPool":
            kh, kw = attr(n, "kernel_shape", None)
            sh, sw = attr(n, "strides", [1, 1])
            win = windows(a[0], kh, kw, sh, sw, pads_of(n, *a[0].shape[2:], kh, kw, sh, sw),
                          -np.inf)
            y = win.max(axis=(4, 5))
        elif op == "GlobalAveragePool":
            y = a[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            y = a[0].reshape(a[0].shape[0], -1)
        elif op == "Gemm":
            b = a[1].T if attr(n, "transB", 0) else a[1]
            y = a[0] @ b + (a[2] if len(a) > 2 else 0)
        elif op == "Softmax":
            e = np.exp(a[0] - a[0].max(axis=-1, keepdims=True))
            y = e / e.sum(axis=-1, keepdims=True)
        else:
            raise ValueError("evaluate: no " + op)
        v[n.output[0]] = y
    return v[model.graph.output[0].name]


def emu_real(tmp):
    """`edgepipe emu --compute real` on an ONNX file runs the file's own initializers: the
    whole model's output for each input image (--save-tensors, which the dispatcher checked
    every pipelined answer against) equals numpy's evaluation of the file on that image, to
    float32 rounding. Two files: small_cnn's logits (its softmax of these weights is one-hot,
    which other weights could match), planned in 3 stages (optimal, compute-bound at 50
    MFLOPS: conv1..relu1, res_a..residual_add, relu3..fc), and mnv3_like (HardSwish,
    HardSigmoid, LeakyRelu through the importer and the executor)."""
    if os.geteuid() != 0:
        print("skipped: the emulator needs root")
        sys.exit(77)
    small, _, _ = small_cnn()
    del small.graph.node[-1]
    small.graph.output[0].name = "logits"
    mnv3, _, _ = mnv3_like()
    import fcntl
    for model, stages in ((small, 3), (mnv3, None)):
        name = model.graph.name
        path = os.path.join(tmp, name + ".onnx")
        onnx.save(model, path)
        tensors = os.path.join(tmp, name + ".bin")
        lock = open("/run/lock/edgepipe-emu-tests.lock", "a")  # the emulator tests take turns
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = subprocess.run([EP, "emu", "--model", path, "--nodes", "3", "--mem", "64MiB",
                            "--cluster", "uniform", "--bw-range", "1Gbit:2Gbit", "--speed",
                            "50MFLOPS", "--algo", "optimal", "--compute", "real",
                            "--requests", "8", "--probes", "0", "--state-dir",
                            os.path.join(tmp, "state"), "--save-tensors", tensors,
                            "--format", "json"], capture_output=True, text=True)
        lock.close()
        check(f"{name}: emu --compute real on the ONNX file: exit 0", r.returncode == 0,
              r.stderr.strip())
        if r.returncode:
            continue
        rep = json.loads(r.stdout)
        if stages:
            check(f"{name}: emu: {stages} stages", len(rep["plan"]) == stages,
                  str(rep["plan"]))
        check(f"{name}: emu: every answer checked, 0 mismatches",
              rep["mismatches"] == 0 and rep["checked"] >= 8 and rep["answered"] == 8,
              f"checked {rep['checked']}, mismatches {rep['mismatches']}")
        data = np.fromfile(tensors, dtype="<f4")
        per = 32 * 32 * 3 + 10
        check(f"{name}: emu: 4 images and their outputs saved", data.size == 4 * per,
              f"{data.size} floats")
        for i in range(data.size // per):
            img = data[i * per:i * per + per - 10].reshape(32, 32, 3)  # H, W, C
            got = data[i * per + per - 10:(i + 1) * per]
            want = evaluate(model, img.transpose(2, 0, 1)[None])[0]
            err = np.abs(got - want).max() / np.abs(want).max()
            check(f"{name}: emu: image {i}: output = numpy on the file's weights "
                  f"(relative {err:.2g})", err < 1e-4, f"got {got[:4]}, numpy {want[:4]}")


with tempfile.TemporaryDirectory() as tmp:
    if MODE == "models":
        run_models(tmp)
        flatten_orders(tmp)
        separable_constant(tmp)
    elif MODE == "export":
        exported(tmp)
    elif MODE == "emu":
        emu_real(tmp)
    else:
        bad_files(tmp)
print(f"{failures} failed")
sys.exit(1 if failures else 0)
