"""Least privilege, tried as each role: what it may do works, everything else is refused.

A private embedded server listening on TCP (the BI tool's path) is initialised by the same
code as ``recsys warehouse init``; each test connects as the role it checks.
"""

from __future__ import annotations

import datetime as dt
import socket

import psycopg
import pytest
from psycopg import errors
from test_publish import POPULAR, SIMILAR, recs_rows

from recsys.ingest import loading
from recsys.platform import embedded, roles, warehouse
from recsys.platform.settings import Settings

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    """A server of its own, initialised as `recsys warehouse init` does, with a mart, a BI view
    and a published run written by the roles that own them."""
    settings = Settings(home=tmp_path_factory.mktemp("roles"), warehouse_tcp_port=_free_port())
    url = warehouse.warehouse_url(settings)
    warehouse.ensure_schemas(url)
    warehouse.set_password(url, "recsys_bi", roles.bi_password(settings))
    as_role = {c: roles.role_url(url, c, settings) for c in roles.COMPONENTS}
    with psycopg.connect(as_role["transformer"], autocommit=True) as conn:  # what dbt creates
        conn.execute("create table marts.dim_customers (customer_id text, country text)")
        conn.execute("insert into marts.dim_customers values ('c1', 'UK')")
        conn.execute("create view bi.bi_customers as select country, count(*) as n from marts.dim_customers group by 1")
        conn.execute("create view bi.bi_recommended as select count(*) as n from recs.user_recommendations")
        conn.execute(
            "create view crm.crm_contacts as select customer_id, 'c1@example.org' as email from marts.dim_customers"
        )
    runs_info = _publish(as_role["publisher"])
    yield settings, url, as_role, runs_info
    embedded.stop_embedded(settings)


def _publish(url: str):
    from recsys.publishing import runs

    return runs.publish(
        url, recs_rows(5), SIMILAR, POPULAR, context_date=dt.date(2011, 11, 28), model_version="m1", k=5
    )


def _refused(url: str, statement: str, error=errors.InsufficientPrivilege) -> str:
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(error) as raised:
        conn.execute(statement)
    return str(raised.value)


def test_the_bi_role_reads_marts_and_bi_over_tcp_and_nothing_else(private):
    settings, url, _, _ = private
    bi = roles.bi_tcp_url(settings, warehouse.url_parts(url).dbname)
    assert bi and "127.0.0.1" in bi
    with psycopg.connect(bi) as conn:
        assert conn.execute("select country, n from bi.bi_customers").fetchall() == [("UK", 1)]
        assert conn.execute("select count(*) from marts.dim_customers").fetchone() == (1,)
        # the recs views are security_invoker: a bi view over them needs the run tables readable
        assert conn.execute("select n from bi.bi_recommended").fetchone()[0] > 0
    assert "read-only transaction" in _refused(
        bi, "insert into marts.dim_customers values ('x', 'FR')", errors.ReadOnlySqlTransaction
    )
    assert "read-only transaction" in _refused(bi, "create table bi.scratch (x int)", errors.ReadOnlySqlTransaction)
    for statement in (
        "select * from raw.load_batches",
        "select * from crm.crm_contacts",
        "select * from recs.user_recommendations",
        "select * from dq.validation_results",
    ):
        _refused(bi, statement)
    with psycopg.connect(bi, autocommit=True) as conn:  # even with read-only switched off, no write
        conn.execute("set default_transaction_read_only = off")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("delete from marts.dim_customers")
    message = _refused(bi, "select pg_read_file('/etc/hostname')")
    assert socket.gethostname() not in message, "no server file leaks through the error"


def test_tcp_admits_the_bi_role_only_with_its_password(private):
    settings, url, _, _ = private
    port, dbname = settings.warehouse_tcp_port, warehouse.url_parts(url).dbname
    for login in (
        f"recsys_bi:wrong@127.0.0.1:{port}",
        f"postgres:postgres@127.0.0.1:{port}",
        f"recsys_loader@127.0.0.1:{port}",
    ):
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(f"postgresql://{login}/{dbname}", connect_timeout=5).close()


def test_the_crm_role_reads_recs_and_crm_writes_only_audiences(private):
    _, _, as_role, info = private
    crm = as_role["crm"]
    with psycopg.connect(crm, autocommit=True) as conn:
        assert conn.execute("select distinct run_id from recs.user_recommendations").fetchall() == [(info.run_id,)]
        assert conn.execute("select email from crm.crm_contacts").fetchall() == [("c1@example.org",)]
        conn.execute(
            "insert into recs.campaign_audiences (campaign, send_date, customer_id, run_id, in_holdout,"
            " holdout_bucket, holdout_share) values ('spring', '2011-11-29', 'c1', %s, false, 0.5, 0.1)",
            (info.run_id,),
        )
        conn.execute("delete from recs.campaign_audiences where campaign = 'spring'")
    _refused(crm, "select * from marts.dim_customers")
    _refused(crm, "update recs.runs set status = 'failed'")
    _refused(crm, f"drop table recs.user_recommendations__{info.run_id}")
    _refused(crm, "create table recs.scratch (x int)")


def test_the_crm_role_records_campaigns_and_bi_reads_none_of_it(private):
    _, _, as_role, info = private
    crm = as_role["crm"]
    with psycopg.connect(crm, autocommit=True) as conn:
        conn.execute(
            "insert into recs.campaign_items (campaign, send_date, customer_id, rank, product_id)"
            " values ('spring', '2011-11-29', 'c1', 1, 'p1')"
        )
        conn.execute(
            "insert into recs.campaign_deliveries (campaign, send_date, run_id, layout, tool_campaign_name,"
            " destination, location, attribution_days, holdout_share, counts, definition, manifest_sha256)"
            " values ('spring', '2011-11-29', %s, 'braze', 'spring_2011-11-29', 'outbox', '/x', 7, 0.1, '{}', '{}', 'x')",
            (info.run_id,),
        )
        conn.execute(
            "insert into recs.campaign_log (campaign, send_date, action, reason) values ('spring', '2011-11-29', 'skipped', 'x')"
        )
        conn.execute(
            "insert into recs.campaign_results (campaign, send_date, metric, comparison, n_treatment, n_control,"
            " confidence_level, srm_flag, window_closed, as_of_date)"
            " values ('spring', '2011-11-29', 'conversion', 'holdout', 1, 1, 0.95, false, false, '2011-12-05')"
        )
        for table in ("campaign_items", "campaign_deliveries", "campaign_results"):
            conn.execute(f"delete from recs.{table} where campaign = 'spring'")
    _refused(crm, "delete from recs.campaign_log")
    _refused(crm, "update recs.campaign_results set effect = 1")
    _refused(as_role["bi"], "select * from recs.campaign_results")
    _refused(as_role["bi"], "select * from recs.campaign_audiences")
    _refused(as_role["publisher"], "select * from crm.crm_contacts")


def test_each_pipeline_role_writes_its_own_schema_only(private):
    _, _, as_role, _ = private
    _refused(as_role["loader"], "select * from marts.dim_customers")
    _refused(
        as_role["loader"], "insert into dq.releases (batch_id, reason, released_by) values (1, 'a long reason', 'x')"
    )
    _refused(as_role["trainer"], "delete from recs.runs")
    _refused(as_role["trainer"], "select * from raw.load_batches")
    _refused(
        as_role["publisher"],
        "insert into ml.model_runs (run_id, logical_date, params, status) values ('x', '2011-01-01', '{}', 'champion')",
    )
    _refused(as_role["quality"], "delete from raw.load_batches")
    _refused(as_role["quality"], "update raw.load_batches set rows_loaded = 0")
    _refused(
        as_role["transformer"],
        "insert into recs.runs (run_id, status, context_date, k) values ('x', 'building', '2011-01-01', 5)",
    )
    denied = (errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction)  # bi: read-only before privileges
    for component in roles.COMPONENTS:
        _refused(as_role[component], "select pg_read_file('/etc/hostname')")
        _refused(as_role[component], "create role intruder superuser", denied)


def test_the_loader_and_the_gate_do_their_jobs_as_their_roles(private, tmp_path):
    _, _, as_role, _ = private
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,customer_id,session_id,event_type,product_id,event_ts,price,rating\n"
        "e1,c1,s1,view,p1,2011-11-28T10:00:00Z,1.5,\n"
    )
    result = loading.load_file(as_role["loader"], "events", path, dt.date(2011, 11, 28))
    assert result.rows_loaded == 1
    with psycopg.connect(as_role["quality"], autocommit=True) as conn:
        conn.execute("update raw.load_batches set gate_status = 'passed' where batch_id = %s", (result.batch_id,))
        assert conn.execute("select count(*) from raw.events").fetchone() == (1,)
    with psycopg.connect(as_role["transformer"], autocommit=True) as conn:
        assert conn.execute("select count(*) from raw.events").fetchone() == (1,)


def test_a_warehouse_from_before_the_roles_is_handed_to_them(warehouse_db):
    """Tables an older version created as the admin pass to their schema's owner at init,
    so the roles can alter what they write and dbt can replace what it built."""
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        conn.execute("reset role")
        conn.execute("create table marts.old_mart (x int)")
        conn.execute("create view bi.old_view as select x from marts.old_mart")
        conn.execute("alter table dq.validation_results owner to current_user")
    warehouse.ensure_schemas(warehouse_db)
    with psycopg.connect(warehouse_db) as conn:
        owners = dict(
            conn.execute(
                "select c.oid::regclass::text, pg_get_userbyid(c.relowner) from pg_class c"
                " where c.oid in ('marts.old_mart'::regclass, 'bi.old_view'::regclass,"
                " 'dq.validation_results'::regclass)"
            ).fetchall()
        )
    assert owners == {
        "marts.old_mart": "recsys_transformer",
        "bi.old_view": "recsys_transformer",
        "dq.validation_results": "recsys_quality",
    }
