"""The Airflow UI, end to end: `airflow standalone` (scheduler, dag-processor, api-server, triggerer,
LocalExecutor) runs the real DAG against the embedded S3 and Gemini emulator through Airflow
connections; headless Chromium creates a backfill of three past dates through Trigger -> Backfill, and a
single run with custom Params. Screenshots of each step land in test-artifacts/ui/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from pipeline_tools.embedded import free_port
from tests.airflow.stack import (
    ARTIFACTS,
    DAG_ID,
    Api,
    Processes,
    airflow_env,
    failed_task_logs,
    run_states,
    wait_for_api,
    wait_until,
)
from tests.conftest import FIXTURE_MEDIA

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ARTIFACTS / "ui"
FILES = ["i_webp_lossy.webp", "a_opus_mono.opus"]  # small and quick: an image and an audio file
SOURCE, DEST, CUSTOM_DEST = "s3://ui-inbox/incoming", "s3://ui-results/gemini", "s3://ui-results/custom"


class Standalone:
    def __init__(self, base: str, api: Api, procs: Processes) -> None:
        self.base, self.api, self.procs = base, api, procs


@pytest.fixture(scope="module")
def standalone(services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:  # noqa: ANN001
    """One `airflow standalone` for the module's tests, on its own port and SQLite DB."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium (never `playwright install`)")
    home = tmp_path_factory.mktemp("airflow-standalone")
    port = free_port()
    env = airflow_env(
        home,
        services,
        port=port,
        extra={"MEDIA_PIPELINE_SOURCE": SOURCE, "MEDIA_PIPELINE_DEST": DEST},
    )
    store = S3Store()
    for bucket in ("ui-inbox", "ui-results"):
        store.ensure_bucket(bucket)
    procs = Processes(ARTIFACTS / "logs" / "standalone")
    base = f"http://127.0.0.1:{port}"
    try:
        procs.start("standalone", ["airflow", "standalone"], env)
        wait_for_api(base, procs, timeout=180)
        password_file = home / "simple_auth_manager_passwords.json.generated"
        password = wait_until(
            "the admin password file",
            lambda: password_file.exists() and json.loads(password_file.read_text()).get("admin"),
            30,
        )
        api = Api(base, "admin", password)
        api.ensure_pools({"ffmpeg": 2, "gemini_api": 2})
        wait_until(f"DAG {DAG_ID} parsed", lambda: api.get(f"/api/v2/dags/{DAG_ID}"), 120, every=2)
        yield Standalone(base, api, procs)
    finally:
        procs.stop()


@pytest.fixture
def page(standalone: Standalone):  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(f"{standalone.base}/")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(standalone.api.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "login" not in url, timeout=30_000)
            yield page
        finally:
            browser.close()


def shot(page, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def seed(dt: date, files: list[str]) -> None:
    store = S3Store()
    for name in files:
        store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{SOURCE}/dt={dt.isoformat()}/{name}"))


def open_dag(page, base: str) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page.goto(f"{base}/dags/{DAG_ID}")
    toggle = page.get_by_test_id("toggle-pause")
    # The DAG page renders its header after the UI's API calls: under a loaded machine (two test workers,
    # an Airflow standalone each) that took longer than expect()'s 5 s default.
    expect(toggle).to_be_visible(timeout=30_000)
    if toggle.get_attribute("data-state") == "unchecked":
        toggle.click()
        expect(toggle).to_have_attribute("data-state", "checked")


def set_datetime(page, nth: int, day: date, hhmm: str) -> str:  # noqa: ANN001
    """Fill the nth `datetime-input` popover (Y/M/D only works in the 'YYYY/MM/DD' format)."""
    from playwright.sync_api import expect

    trigger = page.get_by_test_id("datetime-input").nth(nth)
    trigger.click()
    # closed popovers stay in the DOM: take the one this trigger controls (ids hold ':', so [id=...])
    controls = trigger.get_attribute("aria-controls")
    popover = page.locator(f'[id="{controls}"]') if controls else page
    popover.get_by_placeholder("YYYY/MM/DD").last.fill(day.strftime("%Y/%m/%d"))
    popover.get_by_placeholder("HH:mm").last.fill(hhmm)
    page.keyboard.press("Escape")
    shown = f"{day:%b %d, %Y} {hhmm}"
    expect(trigger).to_contain_text(shown)
    return shown


def param_field(dialog, name: str, role: str):  # noqa: ANN001, ANN201
    """A Param's input in the trigger form: its group holds the name as text and one input."""
    return dialog.get_by_role("group").filter(has=dialog.page.get_by_text(name, exact=True)).get_by_role(role)


def wait_runs_done(api: Api, run_ids: list[str], timeout: float) -> dict[str, str]:
    def done() -> dict[str, str] | None:
        states = run_states(api, run_ids)
        return (
            states
            if len(states) == len(run_ids) and all(s in ("success", "failed") for s in states.values())
            else None
        )

    return wait_until(f"runs {run_ids} to finish", done, timeout, every=2)


def test_backfill_three_dates_from_the_ui(standalone: Standalone, page) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in (20, 19, 18)]
    for day in days:
        seed(day, FILES)
    open_dag(page, standalone.base)
    shot(page, "01-dag-page")

    page.get_by_test_id("trigger-dag-button").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Backfill", exact=True).first.click()
    expect(dialog.get_by_role("radio", name="Backfill")).to_be_checked()
    set_datetime(page, 0, days[0], "00:00")
    set_datetime(page, 1, days[-1], "23:59")
    expect(dialog.get_by_text("3 runs will be triggered")).to_be_visible(timeout=30_000)  # a dry run answers
    dialog.get_by_text("All Runs", exact=True).click()
    dialog.locator('input[name="max_active_runs"]').fill("3")
    shot(page, "02-backfill-form")
    dialog.get_by_role("button", name="Run Backfill").click()
    expect(page.get_by_text("Backfill generated")).to_be_visible()
    shot(page, "03-backfill-generated")

    api = standalone.api
    backfill = wait_until(
        "the backfill", lambda: api.get("/api/v2/backfills", dag_id=DAG_ID)["backfills"], 30
    )[0]
    run_ids = wait_until(
        "three backfill runs",
        lambda: (
            [r["dag_run_id"] for r in api.runs() if r["run_type"] == "backfill"]
            if len([r for r in api.runs() if r["run_type"] == "backfill"]) == 3
            else None
        ),
        60,
    )
    states = wait_runs_done(api, run_ids, timeout=240)
    page.goto(f"{standalone.base}/dags/{DAG_ID}/runs")
    page.wait_for_timeout(1500)
    shot(page, "04-backfill-runs")
    assert set(states.values()) == {"success"}, {r: (s, failed_task_logs(api, r)) for r, s in states.items()}
    # data dates come from the runs' data intervals (run ids carry the interval END): never from run ids
    intervals = sorted(r["data_interval_start"][:10] for r in api.runs() if r["dag_run_id"] in run_ids)
    assert intervals == [d.isoformat() for d in days]
    wait_until(
        "the backfill to complete",
        lambda: api.get(f"/api/v2/backfills/{backfill['id']}")["completed_at"],
        60,
        every=2,
    )

    store, dest = S3Store(), S3Location.parse(DEST)
    media = read_table(store, dest, "media").to_pylist()
    for day in days:
        rows = [r for r in media if r["dt"] == day.isoformat()]
        assert sorted(r["source_uri"].rsplit("/", 1)[-1] for r in rows) == sorted(FILES), day
        assert all(r["status"] == "ok" for r in rows)
        assert len(read_table(store, dest, "annotations", day.isoformat())) == len(FILES)
    runs = read_table(store, dest, "runs").to_pylist()
    assert {r["dt"] for r in runs} >= {d.isoformat() for d in days}
    # the mapped prepare ran per item group, and the trigger (not a worker) waited for the batch job
    tis = api.task_instances(run_ids[0])
    assert [t["state"] for t in tis if t["task_id"] == "prepare"] == ["success"] * len(FILES)
    assert [t["state"] for t in tis if t["task_id"] == "infer"] == ["success"]


def test_single_run_with_custom_params_from_the_ui(standalone: Standalone, page) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    day = datetime.now(UTC).date() - timedelta(days=25)
    seed(day, ["i_jpeg_exif_orientation6.jpg", *FILES])
    open_dag(page, standalone.base)
    page.get_by_test_id("trigger-dag-button").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Single Run", exact=True).first.click()
    expect(dialog.get_by_role("radio", name="Single Run")).to_be_checked()
    # the logical date D+1 02:00 makes the interval [D 02:00, D+1 02:00): data date D
    set_datetime(page, 0, day + timedelta(days=1), "02:00")
    param_field(dialog, "dest", "textbox").fill(CUSTOM_DEST)
    param_field(dialog, "max_items", "spinbutton").fill("2")
    param_field(dialog, "video_fps", "spinbutton").fill("0.5")
    shot(page, "05-single-run-form")
    dialog.get_by_test_id("trigger-dag-submit").click()
    page.wait_for_timeout(1000)
    shot(page, "06-single-run-triggered")

    api = standalone.api
    run = wait_until(
        "the manual run",
        lambda: next(
            (
                r
                for r in api.runs()
                if r["run_type"] == "manual" and (r.get("conf") or {}).get("dest") == CUSTOM_DEST
            ),
            None,
        ),
        30,
    )
    assert run["conf"]["max_items"] == 2 and run["conf"]["video_fps"] == 0.5
    states = wait_runs_done(api, [run["dag_run_id"]], timeout=180)
    assert states[run["dag_run_id"]] == "success", failed_task_logs(api, run["dag_run_id"])
    media = read_table(S3Store(), S3Location.parse(CUSTOM_DEST), "media", day.isoformat()).to_pylist()
    assert len(media) == 2  # max_items=2 of the three objects, written under the custom destination
    page.goto(f"{standalone.base}/dags/{DAG_ID}/runs/{run['dag_run_id']}")
    page.wait_for_timeout(1500)
    shot(page, "07-single-run-done")
