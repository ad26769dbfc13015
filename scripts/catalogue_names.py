# Names the Python scripts share with the C++ sources, read from those sources so that no script
# lists activations or operations by hand (the catalogue is the only list).
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def catalogue_to_functor(root=ROOT):
    """{catalogue name: functor name} from include/actgrad/activations.def."""
    names = {}
    with open(os.path.join(root, "include/actgrad/activations.def")) as f:
        for line in f:
            m = re.match(r"ACTGRAD_(?:UNARY|GATED)\((\w+),\s*\"(\w+)\",\s*(\w+)\)", line)
            if m:
                names[m.group(2)] = m.group(3)
    return names


def functor_to_catalogue(root=ROOT):
    """{functor name: catalogue name}."""
    return {f: n for n, f in catalogue_to_functor(root).items()}


def op_kinds(root=ROOT):
    """detail::OpKind's enumerators in order, from include/actgrad/detail/element_ops.hpp."""
    with open(os.path.join(root, "include/actgrad/detail/element_ops.hpp")) as f:
        text = f.read()
    body = re.search(r"enum class OpKind\s*\{(.*?)\};", text, re.S).group(1)
    body = re.sub(r"//[^\n]*", "", body)
    return [e.strip() for e in body.split(",") if e.strip()]
