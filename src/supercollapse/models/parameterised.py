r"""A config's parameterisation applied to its model: roles, initial scales, multipliers.

A model declares the role of each parameter, ``width_role(path, shape)`` ->
``"embedding" | "hidden" | "readout" | None`` (:data:`supercollapse.parameterisations.base.ROLES`);
with :math:`\rho = n_\text{base}/n` the entry ``PARAMETERISATIONS[cfg.parameterisation]`` then
gives each parameter

* its initial scale, :func:`initialise` (``build_model`` applies it): the model's own init
  times :math:`\rho^{\,b - b_\text{model}}`, and a fan-in readout where the entry asks for one;
* its forward multiplier :math:`\rho^{a}`, :func:`forward_multipliers`: the network computes
  with :math:`W = \rho^{a} w` (:func:`effective`), the optimiser updates :math:`w`. The engine
  passes the multipliers as inputs of its compiled step (like the learning rates), so a
  parameterisation whose multipliers are all 1 (µP, SP) runs the program it always ran;
* its learning-rate factor :math:`\rho^{c}` (:func:`supercollapse.optim.optimizers.lr_multipliers`).

A model without ``width_role`` (for example one written as in ``book/extending.md``, which
declares only its µP fan-ins) trains under µP only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..parameterisations import PARAMETERISATIONS, Parameterisation

if TYPE_CHECKING:
    from ..train.config import TrainConfig

DEFAULT = "mup"
READOUT_KEY = 0x5EAD  # folded into the model's key for a fan-in readout's draw


def spec(cfg: TrainConfig) -> Parameterisation:
    """The parameterisation of ``cfg`` (µP for a config without the field)."""
    return PARAMETERISATIONS[getattr(cfg, "parameterisation", DEFAULT)]


def path_names(path) -> tuple[str, ...]:
    """A pytree path as a tuple of strings, e.g. ``("blocks", "0", "fc1", "kernel")``."""
    out = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                out.append(str(getattr(k, attr)))
                break
    return tuple(n for n in out if n != "value")


def declares_roles(model: nnx.Module) -> bool:
    """Whether ``model`` declares the role of its parameters (``width_role``)."""
    return callable(getattr(model, "width_role", None))


def roles(model: nnx.Module, params=None) -> dict:
    """``{pytree path: role}`` of every parameter of ``model`` (``params``: its ``nnx.Param``
    state, or a pytree of the same structure)."""
    params = nnx.state(model, nnx.Param) if params is None else params
    return {path: model.width_role(path_names(path), tuple(np.shape(leaf)))
            for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]}


def check_roles(cfg: TrainConfig, model: nnx.Module) -> None:
    """Raise ``ConfigError`` if ``cfg`` asks for a parameterisation ``model`` cannot take."""
    from ..train.config import ConfigError

    if getattr(cfg, "parameterisation", DEFAULT) != DEFAULT and not declares_roles(model):
        raise ConfigError(f"TrainConfig.parameterisation={cfg.parameterisation!r}: the model "
                          f"{cfg.model!r} declares no layer roles (width_role), so it trains "
                          "under 'mup' only")


def ratio(cfg: TrainConfig, width: int) -> float:
    """:math:`\\rho = n_\\text{base} / n` at ``width``."""
    return cfg.base_width / width


def initialise(model: nnx.Module, cfg: TrainConfig, width: int, key: jax.Array) -> nnx.Module:
    """Rescale the freshly built ``model`` (at ``width``, from ``key``) to its parameterisation's
    initialisation, in place; µP (the models' own init) leaves it untouched."""
    p = spec(cfg)
    if not p.changes_init():
        return model
    check_roles(cfg, model)
    rho = ratio(cfg, width)
    params = nnx.state(model, nnx.Param)
    role_of = roles(model, params)
    readout_key = jax.random.fold_in(key, READOUT_KEY)
    index = {path: i for i, path in enumerate(role_of)}

    def rescale(path, leaf):
        role = role_of[path]
        if role == "readout" and p.readout_init == "fan_in":  # N(0, 1/fan-in), kernel (in, out)
            draw = jax.random.normal(jax.random.fold_in(readout_key, index[path]), leaf.shape,
                                     leaf.dtype) * leaf.shape[0] ** -0.5
            return draw * jnp.asarray(p.init_scale(role, rho), leaf.dtype)
        scale = p.init_scale(role, rho)
        return leaf if scale == 1.0 else leaf * jnp.asarray(scale, leaf.dtype)

    nnx.update(model, jax.tree_util.tree_map_with_path(rescale, params))
    return model


def forward_multipliers(cfg: TrainConfig, params, width: int | None = None):
    """Per-parameter multipliers :math:`\\rho^{a}` (a pytree like ``params``, float32 numpy
    scalars), or ``None`` when every one is 1 (then nothing is multiplied)."""
    p = spec(cfg)
    if not p.changes_forward():
        return None
    from . import build_model

    width = cfg.width if width is None else width
    abstract = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0), width))
    check_roles(cfg, abstract)
    role_of = roles(abstract)
    rho = ratio(cfg, width)
    return jax.tree_util.tree_map_with_path(
        lambda path, _: np.float32(p.forward_multiplier(role_of[path], rho)), params)


def effective(params, multipliers):
    """The weights the network computes with, :math:`W = \\rho^{a} w` (``params`` itself when
    ``multipliers`` is None)."""
    if multipliers is None:
        return params
    return jax.tree.map(lambda w, m: w * m.astype(w.dtype), params, multipliers)
