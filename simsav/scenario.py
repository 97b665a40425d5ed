"""Scenario files: TOML validated by pydantic. No numerics here.

A scenario names a population, its spending distribution, ACO-level effects, quality, and
the contract designs to compare on the same draws::

    name = "rural-aco-5k"
    seed = 2026
    sims = 10000

    [population]
    beneficiaries = 5000

    [spending]
    model = "medicare-ffs"
    mean = 11000
    truncate_at = 150000

    [aco]
    true_savings = 0.0
    benchmark_error_sd = 0.0

    [quality]
    score = 0.9

    [[designs]]
    name = "Track 1"
    preset = "mssp-track1-2012"

    [[designs]]
    name = "Two-sided 2%"
    preset = "mssp-track2-2012"
    msr = 0.02            # any contract term overrides the preset

Unknown keys are errors that name the key; :func:`validate_scenario_file` reports every
problem at once.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import tomli_w
from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from simsav.contracts import PRESETS, Contract, get_preset
from simsav.draw.agreement import AgreementSpec
from simsav.draw.attribution import AttributionSpec
from simsav.draw.panel import PersistenceSpec
from simsav.io.claims import resolve_sample_path
from simsav.rng import MAX_SIMS
from simsav.settlement.finances import FinancesSpec
from simsav.settlement.policy import POLICIES, DistributionPolicy
from simsav.spending import SpendingSpec
from simsav.validation import Name, Problems, StrictModel, Whole, problems

__all__ = [
    "Scenario",
    "ScenarioError",
    "Population",
    "Stratum",
    "ACOEffects",
    "QualitySpec",
    "Design",
    "ProvidersSpec",
    "load_scenario",
    "parse_scenario",
    "read_toml",
    "validate_scenario_file",
]

Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]



class ScenarioError(ValueError):
    """A scenario is invalid. ``problems`` lists each problem as ``(key, message)``."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "scenario"):
        self.problems = problems
        lines = [f"{source}: {len(problems)} problem(s)"]
        lines += [f"  {key}: {msg}" for key, msg in problems]
        super().__init__("\n".join(lines))


_Frozen = StrictModel


class Population(_Frozen):
    """The attributed population.

    Attributes
    ----------
    beneficiaries : int
        Assigned beneficiaries (1 to 20 million); also sets the sliding-scale MSR.
    """

    beneficiaries: Annotated[Whole, Field(ge=1, le=20_000_000)]


class Stratum(_Frozen):
    """A Medicare enrollment type with its own spending, as CMS computes spending.

    CMS computes per capita expenditures separately for ESRD, disabled, aged/dual and
    aged/non-dual beneficiaries and truncates each at its own 99th percentile
    (42 CFR 425.604(a)(3)-(4)). Each stratum overrides the scenario's ``[spending]``
    terms it names.
    """

    name: Name
    share: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]
    mean: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] | None = None
    cv: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] | None = None
    truncate_at: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] | None = None
    model: str | None = None


class ACOEffects(_Frozen):
    """ACO-level terms that move spending against the benchmark.

    Attributes
    ----------
    true_savings : float
        Fraction of spending the ACO really saves (−0.5 to 0.5; negative = overspends).
    true_savings_sd : float
        Spread of the true savings across sims (normal), e.g. across ACOs of a program.
    true_savings_var_n : float
        Part of the true-savings variance that falls with size: the SD used at ``N``
        beneficiaries is ``sqrt(true_savings_sd² + true_savings_var_n / N)``. Across real
        ACOs the spread beyond claims noise shrinks with size (:mod:`simsav.analysis.calibrate`).
    benchmark_error_sd : float
        ACO-level error in the benchmark, fraction of the benchmark (normal, mean 0).
    benchmark_error_var_n : float
        Size-dependent part of the benchmark-error variance, as for ``true_savings_var_n``.
    revenue_share : float, optional
        ACO participants' A+B FFS revenue as a fraction of the total benchmark, for
        revenue-based loss limits (BASIC C–E); unknown by default (benchmark limit applies).
    low_revenue : bool
        Low-revenue ACO (may share below the MSR at half rate, BASIC from 2024).
    agreement_year : int
        Year of the agreement period (1–10) the run starts in, for year-by-year terms.
    euc_fraction : float
        Share of shared losses forgiven for extreme and uncontrollable circumstances.
    """

    true_savings: Annotated[float, Field(ge=-0.5, le=0.5, allow_inf_nan=False)] = 0.0
    true_savings_sd: Annotated[float, Field(ge=0.0, le=0.5, allow_inf_nan=False)] = 0.0
    true_savings_var_n: Annotated[float, Field(ge=0.0, le=10_000.0, allow_inf_nan=False)] = 0.0
    benchmark_error_sd: Annotated[float, Field(ge=0.0, le=0.5, allow_inf_nan=False)] = 0.0
    benchmark_error_var_n: Annotated[float, Field(ge=0.0, le=10_000.0, allow_inf_nan=False)] = 0.0
    revenue_share: Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)] | None = None
    low_revenue: bool = False
    agreement_year: Annotated[Whole, Field(ge=1, le=10)] = 1
    euc_fraction: Fraction = 0.0


    def true_savings_sd_at(self, n: float) -> float:
        """SD of true savings across ACOs of ``n`` beneficiaries (size law included)."""
        return float(np.sqrt(self.true_savings_sd**2 + self.true_savings_var_n / n))

    def benchmark_error_sd_at(self, n: float) -> float:
        """SD of the benchmark error for ``n`` beneficiaries (size law included)."""
        return float(np.sqrt(self.benchmark_error_sd**2 + self.benchmark_error_var_n / n))


class QualitySpec(_Frozen):
    """The ACO's quality score (0–1): fixed, or beta-distributed across sims.

    Attributes
    ----------
    score : float, optional
        A fixed score. Give either ``score`` or ``distribution = "beta"`` with ``mean``
        and ``sd``.
    distribution : {"fixed", "beta"}
    mean, sd : float
        Mean and standard deviation of the beta distribution (``sd² < mean(1 − mean)``).
    persistence : float
        Year-to-year correlation of a beta score (Gaussian copula), multi-year agreements.
    improvement : float
        Change of the mean (or of the fixed score) per agreement year.
    """

    distribution: Literal["fixed", "beta"] = "fixed"
    score: Fraction | None = None
    mean: Fraction | None = None
    sd: Annotated[float, Field(gt=0.0, le=0.5, allow_inf_nan=False)] | None = None
    persistence: Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)] = 0.0
    improvement: Annotated[float, Field(ge=-0.2, le=0.2, allow_inf_nan=False)] = 0.0

    @model_validator(mode="after")
    def _check(self) -> QualitySpec:
        if self.distribution == "fixed":
            if self.mean is not None or self.sd is not None:
                raise ValueError("mean and sd need distribution = 'beta'")
        else:
            if self.score is not None:
                raise ValueError("give score (fixed) or mean and sd (beta), not both")
            if self.mean is None or self.sd is None:
                raise ValueError("distribution = 'beta' needs mean and sd")
            if not 0.0 < self.mean < 1.0:
                raise ValueError(f"beta mean must be in (0, 1), got {self.mean}")
            if self.sd**2 >= self.mean * (1 - self.mean):
                raise ValueError(
                    f"beta sd must satisfy sd^2 < mean*(1-mean) = "
                    f"{self.mean * (1 - self.mean):.4g}, got sd = {self.sd}"
                )
        return self

    @property
    def fixed_score(self) -> float:
        """The fixed score (1.0 when none is given)."""
        return 1.0 if self.score is None else self.score

    def beta_params(self) -> tuple[float, float]:
        """Return ``(a, b)`` of the beta distribution with this mean and sd."""
        assert self.mean is not None and self.sd is not None
        m, v = self.mean, self.sd**2
        k = m * (1 - m) / v - 1
        return m * k, (1 - m) * k


class ProvidersSpec(_Frozen):
    """Provider panels inside the ACO: the ``provider`` dimension.

    The population is split into ``count`` panels whose sizes vary (lognormal, ``size_cv``),
    drawn once per scenario; each panel's spending is drawn for its own beneficiaries.
    Each provider has a persistent effect on its panel's spending (``savings_sd``, on top of
    the ACO's true savings) and a quality score around the ACO's (``quality_sd``).

    Attributes
    ----------
    count : int
        Number of providers (1–2,000).
    org_mix : dict
        Share of providers by organization type (``primary_care``, ``specialists``,
        ``hospitals``, ``skilled_nursing``); must sum to 1.
    size_cv : float
        Coefficient of variation of panel sizes.
    savings_sd : float
        SD across providers of their own effect on their panel's spending.
    quality_sd : float
        SD of a provider's quality score around the ACO's.
    """

    count: Annotated[Whole, Field(ge=1, le=2_000)]
    org_mix: dict[Literal["primary_care", "specialists", "hospitals", "skilled_nursing"],
                  Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]] = Field(
        default_factory=lambda: {"primary_care": 0.6, "specialists": 0.25, "hospitals": 0.1,
                                 "skilled_nursing": 0.05})
    size_cv: Annotated[float, Field(ge=0.0, le=3.0, allow_inf_nan=False)] = 0.5
    savings_sd: Annotated[float, Field(ge=0.0, le=0.5, allow_inf_nan=False)] = 0.0
    quality_sd: Annotated[float, Field(ge=0.0, le=0.5, allow_inf_nan=False)] = 0.05

    @model_validator(mode="after")
    def _check(self) -> ProvidersSpec:
        total = sum(self.org_mix.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"org_mix shares must sum to 1, got {total:.6g}")
        return self


class Design(StrictModel):
    """A contract design: a preset plus any contract term overriding it.

    Attributes
    ----------
    name : str
        Label (unique within a scenario).
    preset : str, optional
        A preset name (``simsav presets``); without one, the terms build a contract from
        :class:`~simsav.contracts.Contract` defaults.
    glide : list of str, optional
        One preset per agreement year, e.g. a glide path from BASIC A to E.
    reconciliation : {"annual", "deferred"}
        Settle each year, or also settle the agreement's cumulative savings at the end
        (recommendation 4; :mod:`simsav.draw.agreement`).
    interim_payments : bool
        With deferred reconciliation, whether annual settlements are paid on the way.
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    name: Name
    preset: str | None = None
    glide: list[str] | None = None
    reconciliation: Literal["annual", "deferred"] = "annual"
    interim_payments: bool = True

    @model_validator(mode="after")
    def _check_contract(self) -> Design:
        if self.glide is not None:
            if not self.glide:
                raise Problems([("glide", "give one preset per agreement year")])
            bad = [g for g in self.glide if g not in PRESETS]
            if bad:
                raise Problems([("glide", f"unknown preset(s) {', '.join(map(repr, bad))}; "
                                          f"available: {', '.join(PRESETS)}")])
            if self.preset is not None:
                raise Problems([("preset", "give a preset or a glide path, not both")])
        if not self.interim_payments and self.reconciliation == "annual":
            raise Problems([("interim_payments",
                             "does not apply: it needs reconciliation = 'deferred'")])
        for year in range(len(self.glide or [None])):
            self.contract(year)
        return self

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, v: str | None) -> str | None:
        if v is not None and v not in PRESETS:
            raise ValueError(f"unknown preset {v!r}; available: {', '.join(PRESETS)}")
        return v


    @property
    def terms(self) -> dict[str, Any]:
        """The contract terms this design overrides."""
        return dict(self.model_extra or {})

    def contract(self, year: int = 0) -> Contract:
        """Build the validated :class:`~simsav.contracts.Contract` of agreement year ``year``.

        With a ``glide`` path, year ``t`` (0-based) uses ``glide[t]`` (the last entry from
        then on); the design's other terms override every year's preset.
        """
        terms = self.terms
        if self.glide is not None:
            return get_preset(self.glide[min(year, len(self.glide) - 1)]).with_terms(**terms)
        if self.preset is not None:
            return get_preset(self.preset).with_terms(**terms)
        base = Contract(name=self.name)
        return base.with_terms(**terms)


class Scenario(_Frozen):
    """A validated scenario (see the module docstring for the file format)."""

    name: Name
    description: Annotated[str, Field(max_length=10_000)] = ""
    seed: Annotated[Whole, Field(ge=0)] = 0
    sims: Annotated[Whole, Field(ge=1, le=MAX_SIMS)] = 10_000
    block_size: Annotated[Whole, Field(ge=1, le=1 << 20)] = 256
    population: Population
    spending: SpendingSpec
    strata: list[Stratum] | None = None
    aco: ACOEffects = ACOEffects()
    quality: QualitySpec = QualitySpec()
    agreement: AgreementSpec = AgreementSpec(persistence=PersistenceSpec.independent())
    providers: ProvidersSpec | None = None
    distribution: DistributionPolicy | None = None
    finances: FinancesSpec | None = None
    attribution: AttributionSpec = AttributionSpec()
    designs: Annotated[list[Design], Field(min_length=1)]

    @field_validator("distribution", mode="before")
    @classmethod
    def _named_policy(cls, v: Any) -> Any:
        if isinstance(v, str):
            if v not in POLICIES:
                raise ValueError(f"must be a policy name ({', '.join(map(repr, POLICIES))}) "
                                 f"or a table, got {v!r}")
            return POLICIES[v]
        return v

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        found = self._design_problems() + self._population_problems()
        found += self._quality_problems()
        if found:
            raise Problems(found)
        return self

    def _design_problems(self) -> list[tuple[str, str]]:
        names = [d.name for d in self.designs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            return [("designs", f"design names must be unique; repeated: {', '.join(dup)}")]
        return []

    def _population_problems(self) -> list[tuple[str, str]]:
        out = []
        ag = self.agreement
        if not self.attribution.is_trivial:
            if not ag.is_single_year:
                out.append(("attribution", "churn and retrospective assignment are simulated "
                                           "for one-year scenarios only for now"))
            if self.providers is not None:
                out.append(("attribution", "not combined with [providers] yet"))
        if self.strata and self.providers:
            out.append(("strata", "give strata or providers, not both (providers draw one "
                                  "spending model per panel)"))
        if self.distribution is not None and self.providers is None:
            out.append(("distribution", "needs a [providers] table"))
        if self.providers is not None and self.providers.count > self.population.beneficiaries:
            out.append(("providers.count",
                        f"{self.providers.count} exceeds population.beneficiaries "
                        f"({self.population.beneficiaries})"))
        if self.strata:
            total = sum(s.share for s in self.strata)
            if abs(total - 1.0) > 1e-6:
                out.append(("strata", f"shares must sum to 1, got {total:.6g}"))
            snames = [s.name for s in self.strata]
            if len(set(snames)) != len(snames):
                out.append(("strata", "names must be unique"))
            out += self._strata_models()
        return out

    def _strata_models(self) -> list[tuple[str, str]]:
        """Every stratum's own spending model must build, as the run will build it."""
        out = []
        assert self.strata is not None
        for s in self.strata:
            over = {k: v for k, v in (("mean", s.mean), ("cv", s.cv),
                                      ("truncate_at", s.truncate_at), ("model", s.model))
                    if v is not None}
            try:
                self.spending.replace(**over).to_model()
            except (ValueError, ValidationError) as e:
                found = getattr(e, "problems", None) or (
                    problems(e, model=SpendingSpec) if isinstance(e, ValidationError)
                    else [("", str(e))])
                key = f'strata["{s.name}"]'
                out += [(key if k in ("", "(top level)") else f"{key}.{k}", m)
                        for k, m in found]
        return out

    def _quality_problems(self) -> list[tuple[str, str]]:
        """A beta score must stay a beta in every agreement year (improvement included)."""
        q = self.quality
        if q.distribution != "beta" or q.improvement == 0.0:
            return []
        assert q.mean is not None and q.sd is not None
        for t in range(self.agreement.years):
            m = q.mean + t * q.improvement
            if not (0.0 < m < 1.0 and q.sd**2 < m * (1 - m)):
                return [("quality.improvement",
                         f"year {t + 1}'s mean {m:.3f} leaves no room for sd = {q.sd}; "
                         "lower the improvement or the sd")]
        return []

    def contracts(self, year: int = 0) -> dict[str, Contract]:
        """Each design's validated contract in agreement year ``year``, by design name."""
        return {d.name: d.contract(year) for d in self.designs}

    def to_toml(self) -> str:
        """The scenario as TOML text (round-trips through :func:`parse_scenario`)."""
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))

    def digest(self) -> str:
        """SHA-256 of :meth:`to_toml`, for provenance."""
        return hashlib.sha256(self.to_toml().encode()).hexdigest()


def parse_scenario(data: Mapping[str, Any], *, source: str = "scenario") -> Scenario:
    """Validate a mapping (a parsed TOML document) into a :class:`Scenario`.

    Raises
    ------
    ScenarioError
        Listing every problem, each with its key (designs and strata by their names).
    """
    if not isinstance(data, Mapping):
        raise ScenarioError([("(top level)", f"must be a table, got {type(data).__name__}")],
                            source)
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as err:
        raise ScenarioError(problems(err, data, Scenario), source) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file (UTF-8, a byte-order mark allowed).

    Raises
    ------
    ScenarioError
        For a file that cannot be read or is not TOML, with the reason.
    FileNotFoundError
        If there is no such file.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise ScenarioError([("(file)", "is a directory, not a scenario file")], str(p)) from None
    except OSError as err:
        raise ScenarioError([("(file)", f"cannot be read: {err.strerror}")], str(p)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScenarioError([("(file)", f"is not UTF-8 text (byte {err.start})")],
                            str(p)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError([("(file)", f"not valid TOML: {err}")], str(p)) from None


def load_scenario(path: str | Path | Mapping[str, Any]) -> Scenario:
    """Read and validate a scenario TOML file.

    Parameters
    ----------
    path : str, Path or mapping
        The ``.toml`` file (a mapping is validated as its parsed contents).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        For a file that cannot be read, is not valid TOML or does not validate; every
        problem is listed with its key.
    FileNotFoundError
        If the file does not exist.
    """
    if isinstance(path, Mapping):
        return parse_scenario(path)
    if not isinstance(path, str | Path):
        raise TypeError(f"path: must be a file path or a mapping, got {type(path).__name__}")
    data = resolve_sample_path(read_toml(path), Path(path).resolve().parent)
    return parse_scenario(data, source=str(path))


def validate_scenario_file(path: str | Path) -> list[tuple[str, str]]:
    """Return every problem in a scenario file as ``(key, message)``; empty if valid."""
    try:
        load_scenario(path)
    except ScenarioError as err:
        return err.problems
    except FileNotFoundError:
        return [("(file)", "not found")]
    return []
