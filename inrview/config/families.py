"""The network families: one table that the models, the trainers, the checkpoints, the command line and the
app all read. A new family is one `Family` entry here (or `register(Family(...))` from outside) plus the
module that builds it (docs/how-it-works.md, "Adding a network family").

Plain values and arithmetic only (no torch), so the command line builds its help from the table at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


def _grid_table(m, in_dim: int) -> int:
    return m.grid.entries(in_dim) * m.grid.features


@dataclass(frozen=True)
class Family:
    """One network family: its name (ModelConfig.kind), what the user sees, its defaults and its builder."""

    name: str
    """The family's name: ModelConfig.kind, the command line's --model value, the checkpoint's record."""
    label: str
    """The one label the app's menus and the command line's help show."""
    builder: str
    """'module:function' building the network: function(cfg, in_dim, out_dim, seed) -> models.INR."""
    size: tuple[int, int]
    """(width, depth) the family is used with when the user names only the family (meshes, images)."""
    cloud_size: tuple[int, int]
    """(width, depth) for point clouds: smaller, so a CPU fit converges within its time budget."""
    lr: float
    """Adam learning rate for 3D signed distances (a mesh fit)."""
    lr_other: float | None = None
    """Adam learning rate for the other tasks (occupancy, point-cloud losses, 2D); None: lr."""
    image_lr: float = 1e-3
    """Adam learning rate for picture fits (a few hundred to a few thousand steps; config.image)."""
    cloud_lr: float | None = None
    """Adam learning rate of a point-cloud fit; None: lr_other."""
    geometric_init: bool = False
    """The builder honours ModelConfig.geometric_init (the network starts as a sphere's distance, IGR);
    families without it fit a sphere first on point clouds (CloudLossConfig.sphere_warmup)."""
    cloud_model: dict = field(default_factory=dict)
    """ModelConfig settings a point-cloud fit needs with this family (e.g. softplus for eikonal losses)."""
    cloud_loss: dict = field(default_factory=lambda: {"normal": 1000.0, "eikonal": 300.0})
    """CloudLossConfig weights that suit the family on clouds with normals (default_cloud_loss)."""
    encoded_dim: Callable = lambda m, in_dim: in_dim
    """(ModelConfig, in_dim) -> inputs of the first MLP layer (the encoding's width)."""
    table: Callable = lambda m, in_dim: 0
    """(ModelConfig, in_dim) -> trained feature-table entries outside the MLP (a grid encoding's)."""

    def learning_rate(self, in_dim: int = 3, target: str | None = "sdf") -> float:
        """The default rate for a task: 3D signed distances take `lr`, everything else `lr_other`."""
        if in_dim == 3 and target == "sdf":
            return self.lr
        return self.lr if self.lr_other is None else self.lr_other


#: The families, in the order menus and help list them.
FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add (or replace) a family in the table; returns it."""
    FAMILIES[family.name] = family
    return family


def family(kind: str) -> Family:
    """The table's entry for kind; ValueError naming the choices otherwise."""
    try:
        return FAMILIES[kind]
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r} (choose {', '.join(FAMILIES)})") from None


# Grids regressing 3D signed distances take 2e-3: over the 200-step shape budget it ended 15-25% lower in
# Chamfer-L1 than 1e-2, 5e-3 or 3e-3 on spot and bob; the other grid tasks keep 1e-2 (tables start near zero
# and must grow). Grids take a weak eikonal term on clouds (a stiffer field blows the surface up into
# bubbles at free edges and inner walls) and a weaker normal term (it would round the detail they fit).
register(
    Family(
        "grid",
        "Grid (multi-resolution) + MLP",
        "inrview.models.builders:grid",
        size=(64, 2),
        cloud_size=(64, 2),
        lr=2e-3,
        lr_other=1e-2,
        image_lr=1e-2,
        cloud_loss={"normal": 100.0, "eikonal": 10.0},
        encoded_dim=lambda m, in_dim: m.grid.levels * m.grid.features,
        table=_grid_table,
    )
)
# SIREN's published 1e-4 for shapes; for pictures 1e-3 (config.image has the figures).
register(Family("siren", "SIREN (sine MLP)", "inrview.models.builders:siren", (256, 3), (128, 3), lr=1e-4))
# ReLU and Fourier MLPs start as a sphere on clouds (IGR) with softplus, which the eikonal and normal-free
# losses need; from that sphere 500 steps at 3e-3 halved the Chamfer of 1e-3 (docs/readme_reconstruct.md).
_IGR_MLP = {
    "size": (256, 4),
    "cloud_size": (128, 4),
    "lr": 1e-3,
    "cloud_lr": 3e-3,
    "geometric_init": True,
    "cloud_model": {"geometric_init": True, "activation": "softplus"},
}
register(Family("relu", "ReLU MLP (DeepSDF)", "inrview.models.builders:relu", **_IGR_MLP))
register(
    Family(
        "fourier",
        "Fourier features + MLP",
        "inrview.models.builders:fourier",
        encoded_dim=lambda m, in_dim: in_dim + 2 * m.fourier_features,
        **_IGR_MLP,
    )
)


def parameter_count(m, in_dim: int) -> tuple[int, int]:
    """(feature-table entries, MLP weights) of the network ModelConfig m describes, counting the MLP's
    first and hidden layers only (biases, skips and the output layer add width * (depth + a few)): a lower
    bound of its parameters, within a few percent for the usual sizes."""
    fam = family(m.kind)
    mlp = fam.encoded_dim(m, in_dim) * m.width + m.width * m.width * max(0, m.depth - 1)
    return int(fam.table(m, in_dim)), int(mlp)
