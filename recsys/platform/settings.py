"""One typed settings object, read from the environment.

Every component (CLI, Airflow tasks, dbt profile, Great Expectations, tests) builds its
configuration from :func:`get_settings`, so a single variable such as ``WAREHOUSE_URL``
moves all of them at once.  Nested sections are overridden with a double underscore:
``RECSYS_TRAINING__EPOCHS=40`` sets ``settings.training.epochs``.  Lists are written
comma-separated (``RECSYS_TRAINING__RECENT_WINDOWS=7,14,28``).

pydantic-settings parses and validates: a mistyped value is an error naming the
variable, and so is any ``RECSYS_`` variable that names no setting (a typo would
otherwise be ignored silently).
"""

from __future__ import annotations

import datetime as dt
import os
import typing
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "RECSYS_"


def _default_home() -> Path:
    """The repository root: the folder holding ``dbt/`` next to this package."""
    return Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """The environment names an unknown setting or gives one a value of the wrong type."""


class _Section(BaseModel):
    """A frozen group of settings; list fields accept a comma-separated string."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _from_text(cls, value: typing.Any, info) -> typing.Any:
        return _parse_text(cls.model_fields[info.field_name].annotation, value)


def _parse_text(annotation: typing.Any, value: typing.Any) -> typing.Any:
    """Environment text for a field: ``""`` is None where None is allowed, lists are comma-separated."""
    if not isinstance(value, str):
        return value
    if value == "" and type(None) in typing.get_args(annotation):
        return None
    if typing.get_origin(annotation) is tuple:
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class TrainingConfig(_Section):
    """How the LightFM hybrid and the learned baselines are fitted (``RECSYS_TRAINING__*``).

    ``epochs`` is an upper bound: training stops early when NDCG@10 on the validation
    window (carved from before the test cutoff) has not improved for ``patience``
    checks.  LightFM's Hogwild SGD races with more than one thread, so ``deterministic``
    fits it on one thread (same data and config, same model); ``num_threads`` (0 = all
    cores) still drives ALS, scoring and evaluation.

    The served model is a blend (:mod:`recsys.training.blend`) whose weights, popularity
    window and history half-life Optuna searches on the validation window: at most
    ``search_trials`` trials or ``search_seconds``, weights in ``[0, search_max_weight]``,
    half-lives in ``search_half_life_days``.  The strong baselines choose on the same window:
    EASE its ``ease_regularisation`` (over at most ``ease_max_items`` items, the most popular:
    the inverse is dense), RP3beta its ``rp3_alpha`` x ``rp3_beta`` (``rp3_neighbours`` per
    item), recent popularity its window among ``recent_windows``.  The blend's neighbour
    part keeps ``knn_neighbours`` weights per item of EASE or RP3beta (the search picks the
    family; each with its baseline's setting).

    ``warm_refits`` turns the refits of a night (validation model -> backtest model ->
    served model) into warm starts: ``warm_epochs`` passes over the interactions each step
    adds instead of a fit from scratch (:mod:`recsys.training.warm`).  A night whose champion
    had its full fit fewer than ``full_refit_days`` days ago, with the same settings, only
    warm-starts the champion on the interactions since its data ended (an incremental night);
    its in-sample AUC must stay within ``warm_tolerance`` of the full fit's, else the night
    refits in full.  ``full_refit_days`` 1 refits in full every night.
    ``collaborative_baseline`` false skips the LightFM-without-features baseline (a second
    LightFM fit: the largest cost of a night after the served model's own).
    """

    loss: str = "warp"
    no_components: int = 48
    epochs: int = 80
    learning_rate: float = 0.05
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    max_sampled: int = 30
    use_item_features: bool = True
    use_user_features: bool = True
    num_threads: int = 0
    deterministic: bool = True
    seed: int = 42
    eval_every: int = 5
    patience: int = 2
    sample_fraction: float = 1.0
    als_factors: int = 64
    als_iterations: int = 15
    als_regularization: float = 0.05
    als_alpha: float = 10.0
    ease_regularisation: tuple[float, ...] = (50.0, 200.0, 500.0, 1000.0, 3000.0, 10000.0)
    ease_max_items: int = 10_000
    rp3_alpha: tuple[float, ...] = (0.8, 1.0)
    rp3_beta: tuple[float, ...] = (0.2, 0.4, 0.6)
    rp3_neighbours: int = 200
    recent_windows: tuple[int, ...] = (7, 14, 28, 56)
    knn_neighbours: int = 100
    search_trials: int = 40
    search_seconds: float = 600.0
    search_max_weight: float = 4.0
    search_half_life_days: tuple[float, ...] = (7.0, 365.0)
    warm_refits: bool = False
    warm_epochs: int = 5
    full_refit_days: int = 1
    warm_tolerance: float = 0.05
    collaborative_baseline: bool = True


class EvaluationConfig(_Section):
    """The split, the metrics and the champion gate (``RECSYS_EVALUATION__*``).

    The test window is the last ``test_days`` before the logical date; the validation
    window is the ``validation_days`` before the test window, and is the only data any
    setting is chosen on.  When more than ``max_users`` customers are active in a window,
    a seeded random sample of that many is evaluated (every model on the same sample):
    each model is scored against the whole catalogue, and at 20,000 users the standard
    error of a mean NDCG is already near 0.002, below the champion tolerance.  0 means all.
    Validation choices (epochs, grids, the blend search: dozens of evaluations a night) use at
    most ``validation_max_users`` customers (0: ``max_users``).
    The champion gate also asks the served model for at least ``1 + min_lift_over_baselines``
    times the best strong baseline (EASE, RP3beta, recent popularity) on the test window.
    """

    test_days: int = 28
    validation_days: int = 28
    ks: tuple[int, ...] = (5, 10, 20)
    cold_user_max_interactions: int = 2
    max_segments: int = 8
    max_users: int = 20_000
    validation_max_users: int = 0
    champion_tolerance: float = 0.005
    min_lift_over_popularity: float = 0.05
    min_lift_over_baselines: float = 0.0
    min_train_interactions: int = 1000
    min_test_users: int = 20


class QualityConfig(_Section):
    """Thresholds of the data-quality gates (``RECSYS_DQ__*``).

    Bands "learnt from history" use the ``history_days`` before the logical date; with
    fewer than ``min_history_days`` days of data the check is recorded as a warning.
    Event times may run ``future_tolerance_days`` past the logical date (a first load of
    an undated file holds the days after it).
    A day's volume fails below ``volume_low_ratio`` or above ``volume_high_ratio`` times
    the median; a share fails outside median +/- max(``share_mad_k`` robust sigmas,
    ``share_min_half_width``).
    """

    freshness_lag_days: int = 2
    future_tolerance_days: int = 3
    history_days: int = 28
    min_history_days: int = 7
    volume_low_ratio: float = 0.2
    volume_high_ratio: float = 5.0
    share_mad_k: float = 5.0
    share_min_half_width: float = 0.05
    customer_id_mostly: float = 0.95
    duplicate_lines_mostly: float = 0.95
    max_price: float = 100_000.0
    max_quantity: int = 100_000
    min_users: int = 100
    min_items: int = 50
    min_interactions: int = 1000
    density_min: float = 1e-5
    density_max: float = 0.5
    min_catalog_coverage: float = 0.02


class ContextConfig(_Section):
    """Season, calendar, recent-activity and country adjustments of scores (``RECSYS_CONTEXT__*``).

    Each factor enters the score as ``weight * score_scale * value`` (``score_scale`` is
    the model's typical within-user score spread), so a weight means the same for every
    model; all weights 0 give the raw model order.  Log-ratio factors are clipped to
    +/- ``max_log_factor``.  The weights were chosen on Online Retail validation weeks
    (the third Monday of each month of 2011), not on the weeks docs/benchmarks.md reports.
    """

    season_weight: float = 1.0
    event_weight: float = 0.5
    recent_weight: float = 1.0
    country_weight: float = 0.5
    season_smoothing_weeks: float = 1.5
    season_horizon_weeks: int = 2
    season_prior_strength: float = 30.0
    max_log_factor: float = 2.0
    event_suppress_days: int = 60
    event_prior_strength: float = 20.0
    recent_days: int = 14
    recent_half_life_days: float = 3.0
    recent_event_types: tuple[str, ...] = ("view", "cart")
    recent_neighbours: int = 20
    country_prior_strength: float = 5.0


class RulesConfig(_Section):
    """Business rules of the published lists (``RECSYS_RULES__*``).

    ``rules_file`` is the shop's YAML (promotions, re-buy categories, fee codes, caps);
    its values override these defaults (see :mod:`recsys.serving.rules`).
    ``exclude_viewed`` also keeps items a customer viewed or carted out of their list (a
    list then holds items new to the customer, what the model is judged on); false lets
    lists bring viewed items back.
    """

    rules_file: Path | None = None
    exclude_purchased: bool = True
    exclude_viewed: bool = True
    rebuy_categories: tuple[str, ...] = ()
    fee_product_codes: tuple[str, ...] = ()
    category_cap: int = 3
    exploration_share: float = 0.1
    new_item_days: int = 30
    candidates_per_slot: int = 4


class RecsConfig(_Section):
    """Nightly scoring, publishing and CRM exports (``RECSYS_RECS__*``).

    ``block_size`` 0 uses :func:`recsys.ranking.topk.block_rows` (256 users); ``num_threads`` 0 uses every core.
    The lists of a run for logical date D are for the send date D + ``send_offset_days``
    (history up to and including D; season and calendar of the send date).
    ``swap_lock_timeout`` (seconds, below PostgreSQL's 1 s ``deadlock_timeout``) is the
    longest a reader waits for a publish's swap; the swap retries for ``swap_patience``
    seconds while readers hold the views (:class:`recsys.publishing.runs.Yielding`).
    """

    k: int = 10
    similar_k: int = 20
    popular_k: int = 50
    keep_runs: int = 3
    block_size: int = 0
    num_threads: int = 0
    active_days: int = 365
    holdout_share: float = 0.10
    send_offset_days: int = 1
    swap_lock_timeout: float = 0.7
    swap_patience: float = 600.0
    product_url_template: str = "https://shop.example.com/products/{product_id}"
    image_url_template: str = "https://shop.example.com/images/{product_id}.jpg"


class AirflowConfig(_Section):
    """Airflow on this machine and the DAGs' task policy (``RECSYS_AIRFLOW__*``).

    ``recsys demo``, ``recsys airflow`` and the Celery test run Airflow's components as
    local processes (:mod:`recsys.platform.airflow_local`) on a metadata database named
    ``metadata_db`` on the warehouse's server, with ``AIRFLOW_HOME`` (task logs) in
    ``home`` (default ``<home>/.airflow``); the UI listens on ``api_port``.
    Every task retries ``retries`` times, ``retry_delay_seconds`` apart, but only after an
    error a retry can cure (a lost connection, a lost worker); a data error fails at once.
    Training runs on the Celery queue ``training_queue``, the mapped scoring ranges
    (``scoring_range_size`` customers each) on ``scoring_queue``; the tasks that write the
    warehouse in bulk share the pool ``writers_pool`` of ``writers_slots`` slots.
    ``celery_workers`` is the number of local Celery workers of ``recsys airflow --celery``.
    """

    home: Path | None = None
    api_port: int = 8080
    metadata_db: str = "airflow_meta"
    parallelism: int = 4
    retries: int = 2
    retry_delay_seconds: int = 60
    training_queue: str = "training"
    scoring_queue: str = "scoring"
    writers_pool: str = "warehouse_writers"
    writers_slots: int = 2
    scoring_range_size: int = 200_000
    celery_workers: int = 2


class CampaignsConfig(_Section):
    """Campaigns as code, their consent rules and how their results are measured (``RECSYS_CAMPAIGNS__*``).

    ``definitions_dir`` holds one YAML file per campaign (default ``<home>/dbt/campaigns``,
    beside the marts their audiences select from); files go to ``outbox_dir`` (default
    ``<artifacts>/outbox``) unless a campaign names its own destination.  A customer in the
    persistent global control group (``global_control_share`` of everyone, by a hash of the
    customer id) is never sent any campaign; nobody receives more than ``frequency_cap``
    campaigns in ``frequency_days`` days.  A purchase counts for a send when it happens
    within ``attribution_days`` days from the send date; ``pre_period_days`` of spend before
    the send are the CUPED covariate.  A split whose sample-ratio test gives a p-value below
    ``srm_alpha`` is flagged as broken.
    """

    definitions_dir: Path | None = None
    outbox_dir: Path | None = None
    global_control_share: float = Field(default=0.05, ge=0.0, lt=1.0)
    global_control_salt: str = "global-control"
    frequency_cap: int = Field(default=3, ge=1)
    frequency_days: int = Field(default=7, ge=1)
    attribution_days: int = Field(default=7, ge=1)
    pre_period_days: int = Field(default=90, ge=1)
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1.0)
    srm_alpha: float = Field(default=0.001, gt=0.0, lt=0.5)


class PiiConfig(_Section):
    """Personal data (``RECSYS_PII__*``).

    ``email_hash_key`` keys the HMAC-SHA256 of e-mail addresses in CRM exports: without it
    an export refuses to run (an unkeyed hash of an address can be reversed by guessing).
    """

    email_hash_key: SecretStr | None = None


class RolesConfig(_Section):
    """Which PostgreSQL role each component connects as (``RECSYS_ROLES__*``, recsys.platform.roles).

    With ``enabled`` every component connects as its own role: the warehouse URL with the
    role as user, unless ``<component>_url`` gives its full URL (an external warehouse with
    passwords).  ``bi_password`` is the BI role's password for TCP connections (default: one
    generated for the embedded server and kept in ``.warehouse/bi_password``).
    """

    enabled: bool = True
    loader_url: SecretStr | None = None
    transformer_url: SecretStr | None = None
    quality_url: SecretStr | None = None
    trainer_url: SecretStr | None = None
    publisher_url: SecretStr | None = None
    crm_url: SecretStr | None = None
    bi_url: SecretStr | None = None
    bi_password: SecretStr | None = None


class SegmentsConfig(_Section):
    """Behavioural segments, fitted nightly by :mod:`recsys.segments` (``RECSYS_SEGMENTS__*``).

    K-means on three views of a customer (recency, frequency and spend; category mix;
    price-band mix), each scaled to unit variance and then weighted: the category mix
    counts fully, RFM half (``dim_customers.rfm_segment`` already segments by it) and the
    price mix half (a category largely sets its prices).  ``k`` is the best silhouette (on
    ``silhouette_sample`` customers) from ``k_min`` to ``k_max``, but the previous night's
    ``k`` stays while its silhouette is within ``k_tolerance`` of the best, so segments do
    not churn on noise.
    Only customers with ``min_products`` distinct products shape the clusters (on at most
    ``fit_sample`` of them); every customer with an interaction gets the nearest one.
    Assignments of the last ``keep_fits`` fits are kept.
    """

    k_min: int = Field(default=4, ge=2)
    k_max: int = Field(default=10, ge=2)
    k_tolerance: float = 0.02
    min_products: int = Field(default=3, ge=1)
    silhouette_sample: int = Field(default=4000, ge=100)
    fit_sample: int = Field(default=50_000, ge=100)
    n_init: int = Field(default=4, ge=1)
    rfm_weight: float = Field(default=0.5, ge=0)
    category_weight: float = Field(default=1.0, ge=0)
    price_weight: float = Field(default=0.5, ge=0)
    keep_fits: int = Field(default=3, ge=2)
    seed: int = 42


class StockConfig(_Section):
    """What low stock does outside the warehouse (``RECSYS_STOCK__*``; the alert threshold
    itself is the dbt var ``stock.alert_cover_days``).

    Scores of a product with fewer than ``demote_cover_days`` days of cover are lowered by
    ``demote_weight * log(cover / demote_cover_days)`` score units (floored at
    ``-max_log_factor`` of the context settings); 0 turns the demotion off.  The DAG's
    notifier logs the day's alerts, and also sends them to ``notify_webhook_url`` (JSON
    POST) and ``notify_email_to`` (through the Airflow SMTP connection
    ``notify_smtp_conn_id``) when set.
    """

    demote_cover_days: float = Field(default=14.0, gt=0)
    demote_weight: float = Field(default=1.0, ge=0)
    notify_webhook_url: SecretStr | None = None
    notify_email_to: tuple[str, ...] = ()
    notify_smtp_conn_id: str = "smtp_default"


class BiConfig(_Section):
    """The BI tool, Apache Superset (``RECSYS_BI__*``; ``make bi``, :mod:`recsys.bi`).

    Superset lives in its own virtual environment ``venv`` (default ``<home>/.venv-bi``:
    it pins pandas 2.1, numpy 1.26 and SQLAlchemy 1.4) and keeps its metadata, secret key
    and admin password in ``state_dir`` (default ``<home>/.superset``).
    """

    venv: Path | None = None
    state_dir: Path | None = None
    port: int = Field(default=8088, ge=1024, le=65535)
    admin_password: SecretStr | None = None


class Settings(BaseSettings):
    """Platform settings.

    Attributes
    ----------
    home : Path
        Root of the repository; local state (embedded warehouse, landing files,
        artifacts) lives in git-ignored folders below it.
    warehouse_url : str or None
        libpq URL of the warehouse (``WAREHOUSE_URL``).  Unset means: start the
        embedded PostgreSQL from ``pgserver`` in ``<home>/.warehouse``.
    warehouse_db : str
        Database created on the embedded server.
    shop_opened : date
        Earliest plausible event date; older timestamps are data errors.
    data_root, artifacts_root : Path or None
        Override ``<home>/.data`` (landing files, logs, dbt profiles) and
        ``<home>/artifacts`` (models, reports, Data Docs, exports), e.g. to keep a test
        or benchmark run apart from the demo's.
    training : TrainingConfig
        Model hyperparameters (``RECSYS_TRAINING__EPOCHS=40``).
    evaluation : EvaluationConfig
        Split windows, metrics and champion gate (``RECSYS_EVALUATION__TEST_DAYS=28``).
    dq : QualityConfig
        Data-quality gate thresholds (``RECSYS_DQ__FRESHNESS_LAG_DAYS=2``).
    context : ContextConfig
        Context factors of scores (``RECSYS_CONTEXT__SEASON_WEIGHT=0`` turns one off).
    rules : RulesConfig
        Business rules (``RECSYS_RULES__RULES_FILE=rules/shop.yml``).
    recs : RecsConfig
        Scoring, publishing and exports (``RECSYS_RECS__K=10``).
    airflow : AirflowConfig
        Local Airflow processes, retries, queues and pools (``RECSYS_AIRFLOW__API_PORT=8081``).
    roles : RolesConfig
        The role each component connects as (``RECSYS_ROLES__ENABLED=false`` for one user).
    campaigns : CampaignsConfig
        Campaign definitions, consent rules and uplift measurement (``RECSYS_CAMPAIGNS__FREQUENCY_CAP=2``).
    pii : PiiConfig
        Personal data: the key of e-mail hashes in exports (``RECSYS_PII__EMAIL_HASH_KEY``).
    segments : SegmentsConfig
        Behavioural segments (``RECSYS_SEGMENTS__K_MAX=12``).
    stock : StockConfig
        Demotion of low-cover products and where stock alerts go (``RECSYS_STOCK__NOTIFY_WEBHOOK_URL``).
    bi : BiConfig
        The BI tool (``RECSYS_BI__PORT=8088``).
    warehouse_tcp_port : int or None
        Also listen on ``127.0.0.1:<port>`` (embedded server), for BI tools; only the BI
        role may connect over TCP, with its password.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        enable_decoding=False,
    )

    home: Path = Field(default_factory=_default_home)
    warehouse_url: str | None = None
    warehouse_db: str = "warehouse"
    shop_opened: dt.date = dt.date(2009, 1, 1)
    data_root: Path | None = None
    artifacts_root: Path | None = None
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    dq: QualityConfig = Field(default_factory=QualityConfig)
    context: ContextConfig = Field(default_factory=ContextConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    recs: RecsConfig = Field(default_factory=RecsConfig)
    airflow: AirflowConfig = Field(default_factory=AirflowConfig)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    pii: PiiConfig = Field(default_factory=PiiConfig)
    segments: SegmentsConfig = Field(default_factory=SegmentsConfig)
    stock: StockConfig = Field(default_factory=StockConfig)
    bi: BiConfig = Field(default_factory=BiConfig)
    campaigns: CampaignsConfig = Field(default_factory=CampaignsConfig)
    warehouse_tcp_port: int | None = Field(default=None, ge=1024, le=65535)

    @field_validator("*", mode="before")
    @classmethod
    def _from_text(cls, value: typing.Any, info) -> typing.Any:
        return _parse_text(cls.model_fields[info.field_name].annotation, value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        *args: PydanticBaseSettingsSource,
        **kwargs: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """``Settings(...)`` is exactly what it is given; :func:`get_settings` adds the environment."""
        return (init_settings,)

    @property
    def embedded_dir(self) -> Path:
        return self.home / ".warehouse"

    @property
    def data_dir(self) -> Path:
        return self.data_root or self.home / ".data"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def artifacts_dir(self) -> Path:
        return self.artifacts_root or self.home / "artifacts"

    @property
    def dbt_project_dir(self) -> Path:
        return self.home / "dbt"

    @property
    def dbt_profiles_dir(self) -> Path:
        return self.data_dir / "dbt_profiles"

    @property
    def airflow_home(self) -> Path:
        return self.airflow.home or self.home / ".airflow"

    @property
    def bi_venv(self) -> Path:
        return self.bi.venv or self.home / ".venv-bi"

    @property
    def bi_state_dir(self) -> Path:
        return self.bi.state_dir or self.home / ".superset"

    @property
    def campaign_definitions_dir(self) -> Path:
        return self.campaigns.definitions_dir or self.dbt_project_dir / "campaigns"

    @property
    def outbox_dir(self) -> Path:
        return self.campaigns.outbox_dir or self.artifacts_dir / "outbox"

    @property
    def dq_dir(self) -> Path:
        """Great Expectations output: ``data_docs/index.html`` and raw ``validations/`` JSON."""
        return self.artifacts_dir / "dq"


class _MappingSource(EnvSettingsSource):
    """The environment source reading a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], env: typing.Mapping[str, str]):
        self._given = dict(env)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> typing.Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._given.items()}


def _setting_names(model: type[BaseModel], prefix: str) -> set[str]:
    """Every environment variable name that sets a field of ``model`` (sections recursed)."""
    names = set()
    for name, info in model.model_fields.items():
        variable = f"{prefix}{name.upper()}"
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            names |= _setting_names(info.annotation, f"{variable}__")  # a section is set field by field
        else:
            names.add(variable)
    return names


def check_environment(env: typing.Mapping[str, str]) -> None:
    """Refuse ``RECSYS_`` variables that name no setting, with the nearest valid names."""
    import difflib

    known = _setting_names(Settings, ENV_PREFIX)
    unknown = sorted(k for k in env if k.upper().startswith(ENV_PREFIX) and k.upper() not in known)
    if unknown:
        hints = [
            f"{k} (did you mean {', '.join(close)}?)"
            if (close := difflib.get_close_matches(k.upper(), known, 2))
            else k
            for k in unknown
        ]
        raise SettingsError(
            f"unknown setting(s) in the environment: {'; '.join(hints)}; see the Configuration section of README.md"
        )


def get_settings(env: typing.Mapping[str, str] | None = None) -> Settings:
    """Settings from ``env`` (default: the process environment).

    ``WAREHOUSE_URL`` is accepted without the ``RECSYS_`` prefix because it is the one
    variable operators set most.

    Raises
    ------
    SettingsError
        An unknown ``RECSYS_`` variable, or a value that does not parse as its setting.
    """
    given: dict[str, str] = dict(os.environ if env is None else env)
    if "WAREHOUSE_URL" in given and f"{ENV_PREFIX}WAREHOUSE_URL" not in given:
        given[f"{ENV_PREFIX}WAREHOUSE_URL"] = given["WAREHOUSE_URL"]
    check_environment(given)

    try:
        return Settings(**_MappingSource(Settings, given)())
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'__'.join(str(part).upper() for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise SettingsError(f"invalid setting(s): {problems}") from None
