"""Configuration as frozen dataclasses: one docstring per field, Literal choices, JSON round trip."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

from .base import Config as Config
from .families import FAMILIES as FAMILIES
from .families import Family as Family
from .families import family as family
from .families import parameter_count as parameter_count
from .families import register as register

#: A family's name: a key of FAMILIES (grid, siren, relu, fourier, and any registered since).
ModelKind = str
Target = Literal["sdf", "occupancy", "udf", "auto"]
#: The targets a network is trained on ('auto' is resolved to one of them when a fit starts).
TRAINED_TARGETS = ("sdf", "occupancy", "udf")


@dataclass(frozen=True)
class GridEncoding(Config):
    """A multi-resolution feature grid (instant-ngp): levels of cells spaced geometrically from
    base_resolution to max_resolution per side, features stored at every vertex of every level."""

    levels: int = 4
    """Number of resolution levels (4 for 3D: 16, 32, 64, 128 cells; as accurate as 6 levels at 200 steps
    on the dev meshes and a third cheaper per step)."""
    base_resolution: int = 16
    """Cells per side at the coarsest level."""
    max_resolution: int = 128
    """Cells per side at the finest level."""
    features: int = 2
    """Features stored per grid vertex and level."""
    max_entries: int = 2**22
    """A level with more vertices than this is stored in a hash table of this size (2^22 keeps the 129^3
    finest 3D level dense: grid_sample instead of hashed gathers, 25% faster steps)."""

    def resolutions(self) -> list[int]:
        """Cells per side at each level, spaced geometrically from base to finest (instant-ngp, Eq. 2)."""
        if self.levels == 1:
            return [int(self.max_resolution)]
        b = math.exp((math.log(self.max_resolution) - math.log(self.base_resolution)) / (self.levels - 1))
        return [int(round(self.base_resolution * b**i)) for i in range(self.levels)]

    def entries(self, in_dim: int) -> int:
        """Table entries summed over the levels: (r + 1)^in_dim vertices per level of r cells per side,
        capped at max_entries (the hash-table size)."""
        return int(sum(min((r + 1) ** in_dim, self.max_entries) for r in self.resolutions()))


#: The flat grid_* fields that networks' configurations held before GridEncoding, to its fields.
FLAT_GRID_KEYS = {f"grid_{f.name}": ("grid", f.name) for f in dataclasses.fields(GridEncoding)}


@dataclass(frozen=True)
class ModelConfig(Config):
    """The network: its family and size, and the family's own settings (fields documented one by one)."""

    kind: ModelKind = "grid"
    """Network family, a key of FAMILIES: 'grid' multi-resolution feature grid + small MLP, 'siren' sine MLP,
    'relu' DeepSDF-style ReLU MLP, 'fourier' ReLU MLP on a Fourier-feature encoding."""
    width: int = 64
    """Hidden units per layer."""
    depth: int = 2
    """Number of hidden layers."""
    skip: bool = True
    """ReLU/Fourier MLPs: concatenate the input again at the middle layer (DeepSDF)."""
    weight_norm: bool = False
    """ReLU/Fourier MLPs: weight normalisation on the linear layers (DeepSDF)."""
    geometric_init: bool = False
    """Families whose table entry says geometric_init (ReLU, Fourier): start as the SDF of a sphere (IGR,
    Sec. 4)."""
    activation: Literal["relu", "softplus"] = "relu"
    """ReLU MLP activation; 'softplus' (beta 100) gives smooth gradients for eikonal losses."""
    omega0: float = 30.0
    """SIREN: frequency factor of the sine activations (SIREN, Sec. 3.2)."""
    fourier_features: int = 64
    """Fourier encoding: number of frequencies."""
    fourier_scale: float = 8.0
    """Fourier encoding: standard deviation of the Gaussian frequencies (in cycles over [-1, 1])."""
    grid: GridEncoding = GridEncoding()
    """The 'grid' family's feature grid."""

    FORMER_KEYS = FLAT_GRID_KEYS


@dataclass(frozen=True)
class SamplingConfig(Config):
    """How the training pool of a mesh is drawn: its size and the shares of surface, near, far and
    uniform samples (distances in normalised units)."""

    n_samples: int = 500_000
    """Size of the training pool drawn once per shape (batches are drawn from it)."""
    mix: tuple[float, float, float, float] = (0.3, 0.3, 0.25, 0.15)
    """Proportions of samples on the surface, perturbed by the fine Gaussian, perturbed by the coarse one,
    and uniform in the cube [-1, 1]^3: non-negative, not all zero, scaled to sum to 1 when drawn."""
    sigmas: tuple[float, float] = (0.01, 0.08)
    """Standard deviations of the fine and the coarse perturbation, in normalised units."""

    FORMER_KEYS = {
        "surface_fraction": ("mix", 0),
        "near_fraction": ("mix", 1),
        "far_fraction": ("mix", 2),
        "uniform_fraction": ("mix", 3),
        "sigma_near": ("sigmas", 0),
        "sigma_far": ("sigmas", 1),
    }

    def __post_init__(self):
        if len(self.mix) != 4 or min(self.mix) < 0 or sum(self.mix) <= 0:
            raise ValueError(f"sampling.mix = {list(self.mix)} is not four non-negative proportions, not all zero")
        if len(self.sigmas) != 2 or min(self.sigmas) < 0:
            raise ValueError(f"sampling.sigmas = {list(self.sigmas)} is not two non-negative widths")


@dataclass(frozen=True)
class TrainConfig(Config):
    """The optimisation: step or time budget, batch, learning-rate schedule, loss settings, seed, device,
    threads and arithmetic precision."""

    steps: int = 3000
    """Number of optimisation steps (ignored when seconds is set and reached first)."""
    seconds: float | None = None
    """Wall-clock budget for training; None means train for `steps`."""
    batch_size: int = 16384
    """Samples per step."""
    lr: float | None = None
    """Adam learning rate at the start; None picks the model family's default (see default_lr)."""
    lr_final_factor: float = 0.05
    """The learning rate decays (cosine) to lr * lr_final_factor by the end of the budget."""
    clamp: float = 0.1
    """DeepSDF clamp distance for the L1 SDF loss, in normalised units."""
    eikonal_weight: float = 0.0
    """Weight of the eikonal term on SDF targets (0 disables; needs autograd)."""
    seed: int = 0
    """Seed for weights, samples and batches."""
    device: str = "auto"
    """'auto' (CUDA, then MPS, then CPU), 'cpu', 'cuda', 'cuda:1', 'mps'."""
    threads: int | None = None
    """CPU threads for torch; None picks one thread for grid-encoded models on machines with up to 4
    cores (their grid lookups run on one thread whatever the setting, and idle OpenMP threads spinning
    beside a busy GUI or other jobs made steps 5x slower on 2 cores) and leaves torch's choice otherwise."""
    precision: Literal["fp32", "tf32", "bf16"] = "fp32"
    """Arithmetic of the training steps: 'fp32'; 'tf32' lets CUDA matrix products use TensorFloat-32
    (faster for wide MLPs, about 1e-3 relative error per product); 'bf16' runs the forward pass under
    bfloat16 autocast (wide MLPs on GPUs and recent CPUs). Evaluation for extraction stays fp32."""


@dataclass(frozen=True)
class CloudLossConfig(Config):
    """Weights and sampling of the point-cloud losses (distances in normalised units, cube [-1, 1]); see
    inrview.training.cloud_task for the terms."""

    surface: float = 3000.0
    """Weight of |f| at the input points."""
    normal: float = 100.0
    """Weight of 1 - cos(grad f, n) at the input points (ignored without normals)."""
    eikonal: float = 50.0
    """Weight of (|grad f| - 1)^2."""
    off_surface: float = 0.0
    """Weight of exp(-alpha |f|) at uniform samples (SIREN's term; the band term does its job)."""
    alpha: float = 100.0
    """Sharpness of the off-surface term."""
    band: float = 3000.0
    """Weight of the distance-band term on volume samples."""
    band_slack: float = 0.5
    """delta(x) = band_slack * (scale of the nearest input point): how far below d(x) |f(x)| may be. Half
    a scale keeps the surface from sagging into gaps between parts (teapot lid and spout, 100k points,
    0.25% noise: with the grid's weaker eikonal term 1.65e-3 -> 1.40e-3 Chamfer; SIREN at 10k points
    2.64e-3 -> 2.17e-3)."""
    use_sign: bool = True
    """With normals: sign the band by the winding number of the oriented points."""
    surface_batch: float = 0.5
    """Share of each batch that is input points (the rest are volume samples)."""
    gradient_share: float = 0.25
    """Share of the volume samples that also get the eikonal term."""
    pool_size: int = 100_000
    """Volume samples drawn once per cloud."""
    pool_mix: tuple[float, float, float] = (0.5, 0.3, 0.2)
    """Shares of the pool: around points at their own scale, at four times it, uniform in the cube."""
    scale_k: int = 10
    """The scale of a point is its distance to this nearest neighbour (IGR uses 50 on dense scans)."""
    scale_min: float = 0.002
    """Lower clamp of the per-point scale."""
    scale_max: float = 0.2
    """Upper clamp of the per-point scale."""
    gradient: Literal["auto", "analytic", "numeric"] = "auto"
    """How grad f is computed; 'auto' picks analytic (numeric costs seven evaluations per point)."""
    fd_step: float | None = None
    """Step of the central differences; None picks one cell of the finest grid (or 0.005)."""
    use_normals: bool = True
    """Use the normals when the cloud has them; False trains the normal-free loss."""
    sphere_warmup: int = 100
    """Networks without an analytic geometric initialisation first fit the distance of a sphere for this
    many steps (at most a quarter of a step budget): it gives the normal-free loss its sign, and a grid
    that starts from it fits oriented clouds better too (spot, 100k points, 0.5% noise: 1.6e-3 Chamfer
    against 3.0e-3 from the grid's near-zero start)."""
    sphere_radius: float = 0.5
    """Radius of that sphere (the ReLU network's geometric initialisation uses 0.5 as well)."""


def default_cloud_loss(kind: str, has_normals: bool) -> CloudLossConfig:
    """Loss settings that work for each network family (the table's cloud_loss; measured with
    scripts/bench_reconstruct.py):
    smooth MLPs take a strong normal term (it smooths noise away between sparse points); grids a weaker
    one (they have the points to fit detail and the normal term would round it). For SIREN a strong
    eikonal term (300) kept spikes and webs out of sparse noisy clouds (armadillo at 2k points, 0.5%
    noise: 10.1e-3 -> 7.6e-3 Chamfer) without rounding clean ones. Grids take a weak one (10): a stiffer
    field blows the surface up into bubbles where the data has free edges or inner walls (the teapot's
    lid rim and the spout passing through its body)."""
    if not has_normals:
        return CloudLossConfig(use_normals=False, normal=0.0)
    return CloudLossConfig(**family(kind).cloud_loss)


#: Default step budget of a shape fit (FitConfig().train.steps).
SHAPE_STEPS = 200


@dataclass(frozen=True)
class FitConfig(Config):
    """Everything a shape fit depends on (network, target, sampling, training, extraction resolution,
    margin, point-cloud losses); recorded in every checkpoint header (to_dict / from_dict)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    """The network."""
    target: Target = "auto"
    """What the network learns: 'sdf' signed distance, 'occupancy' (logit), 'udf' unsigned distance (open
    surfaces and single-layer sheets, extracted as open meshes), or 'auto': 'udf' for an open or sheet-like
    mesh, 'sdf' for a closed one (see inrview.sampling.unsigned.choose_target)."""
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    """How training samples are drawn."""
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=SHAPE_STEPS))
    """Optimisation settings (for shapes, SHAPE_STEPS steps by default: the learning rate anneals to the
    end of that budget, which reaches the quality of the exact SDF at 128^3 on the dev meshes)."""
    resolution: int = 256
    """Marching-cubes resolution for the exported mesh."""
    margin: float = 0.1
    """Free margin around the shape inside the unit cube."""
    cloud: CloudLossConfig | None = None
    """Point-cloud inputs: loss weights and volume sampling; None picks `default_cloud_loss` for the network
    family and whether the cloud has normals (meshes ignore it)."""

    @classmethod
    def from_dict(cls, values: dict) -> FitConfig:
        """The configuration from to_dict's output (older dicts without 'cloud' or with older keys too; a
        missing network, sampling or training section is that class's default); ValueError naming any
        unknown field."""
        sections = {name: values.get(name, {}) for name in ("model", "sampling", "train")}
        return super().from_dict({**values, **sections})


def replace(obj, **changes):
    """dataclasses.replace that also accepts None values as 'leave unchanged', and for a nested
    configuration a dict of the changes to its fields (None values in it left unchanged as well)."""
    given = {}
    for name, value in changes.items():
        current = getattr(obj, name, None)
        if isinstance(value, dict) and isinstance(current, Config):
            value = replace(current, **value)
        if value is not None:
            given[name] = value
    return dataclasses.replace(obj, **given)


def default_lr(kind: str, in_dim: int = 3, target: str | None = "sdf") -> float:
    """The family's learning rate for a task (Family.learning_rate: 3D signed distances take the table's lr,
    other tasks its lr_other); 1e-3 for a network outside the table."""
    return FAMILIES[kind].learning_rate(in_dim, target) if kind in FAMILIES else 1e-3


def model_config(kind: str = "grid", **overrides) -> ModelConfig:
    """A ModelConfig for a family with that family's usual width and depth; overrides as `replace` takes
    them (None ignored; the grid as a dict of GridEncoding fields, e.g. grid={"levels": 6})."""
    width, depth = family(kind).size
    return replace(ModelConfig(kind=kind, width=width, depth=depth), **overrides)


def cloud_model_config(kind: str, **overrides) -> ModelConfig:
    """A family's network for a point cloud: its cloud size and the settings the table says clouds need
    (ReLU and Fourier MLPs: geometric initialisation and softplus); overrides of None are ignored."""
    fam = family(kind)
    width, depth = fam.cloud_size
    return replace(ModelConfig(kind=kind, width=width, depth=depth, **fam.cloud_model), **overrides)
