"""The dashboard in a real browser: Debian's Chromium, headless, driven by Selenium through
Debian's chromedriver (never a browser or driver that Selenium would download). A screenshot of
each page is written to test-artifacts/screenshots/."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from django_tasks.backends.database import DatabaseBackend
from tests.database.conftest import ROOT, user
from tests.database.seeds import SCRIPT, seed_dashboard, seed_task
from tests.helpers import wait_until

pytestmark = [
    pytest.mark.transactional,
    pytest.mark.with_default,
    pytest.mark.databases("postgres"),
]

CHROMIUM = Path(os.environ.get("DJANGO_TASKS_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("DJANGO_TASKS_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DASHBOARD = reverse("admin:django_tasks_spec_database_dbtaskresult_dashboard")
PASSWORD = "a-test-password-1"  # Test-only account.


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            pytest.fail(
                f"{path} does not exist: the browser tests need Debian's {package} "
                f"('apt-get install chromium chromium-driver'; ./dev installs them)."
            )
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager downloads nothing.
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1600")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    yield driver
    driver.quit()


def log_in(browser: WebDriver, live_server: Any, *permissions: str) -> None:
    account = user(f"browser-{len(permissions)}", *permissions)
    account.set_password(PASSWORD)
    account.save()
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}{reverse('admin:login')}")
    browser.find_element(By.NAME, "username").send_keys(account.username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_until(lambda: "login" not in browser.current_url, 20, lambda: browser.page_source)


def screenshot(browser: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, max(900, int(height) + 100))
    assert browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def texts(browser: WebDriver, selector: str) -> list[str]:
    """The text of each element ``selector`` matches, read at once (the panel reloads under
    the test every few seconds, so elements found earlier go stale)."""
    script = "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText)"
    return list(browser.execute_script(script, selector))


def queue_cells(browser: WebDriver, queue: str) -> list[str]:
    return texts(browser, f'tr.queue[data-queue="{queue}"] td')


def test_the_dashboard_shows_the_figures_and_refreshes_them(
    backend: DatabaseBackend, browser: WebDriver, live_server: Any
) -> None:
    seed_dashboard(backend)
    injected = "return Array.from(document.scripts).some(s => s.text.includes('alert(1)'))"
    log_in(browser, live_server, "view_dbtaskresult")
    browser.get(
        f"{live_server.url}{reverse('admin:django_tasks_spec_database_dbtaskresult_dashboard')}"
    )
    assert browser.title.startswith("Task queue dashboard")
    assert queue_cells(browser, "mail") == [
        "default", "mail", "2", "1", "1", "10 min", "3", "1", "25.0%",
        "1.0 s / 5.0 s / 5.0 s", "2.0 s / 4.0 s / 4.0 s",
    ]  # fmt: skip
    labels = "return Array.from(document.querySelectorAll('svg.tasks-chart'), e => e.ariaLabel)"
    assert browser.execute_script(labels) == [
        "Tasks finished per minute",
        "Failure rate per minute",
    ]
    workers = texts(browser, "tr.worker")
    assert [row.split("\t")[0] for row in workers] == ["host:1", "host:2"]
    assert "(dead)" in workers[1]
    assert "tests.tasks.noop \N{MULTIPLICATION SIGN} 1" in workers[0]
    assert texts(browser, "tr.failure a") == [SCRIPT]  # Shown as text, not run.
    assert browser.execute_script(injected) is False
    screenshot(browser, "dashboard")

    # The panel reloads without reloading the page: a mark on the page survives it.
    browser.execute_script("window.notReloaded = true;")
    seed_task(backend, "waiting-3")
    wait_until(lambda: queue_cells(browser, "mail")[2] == "3", 30, browser.page_source)
    assert browser.execute_script("return window.notReloaded") is True

    link = "return document.querySelector('tr.failure a').href"
    browser.get(browser.execute_script(link))
    content = browser.find_element(By.ID, "content").text
    assert f"ValueError: {SCRIPT}" in content  # The traceback, as text.
    assert f'"html": "{SCRIPT}"' in content  # The arguments, as text.
    assert browser.execute_script(injected) is False
    screenshot(browser, "failed-result")


def test_a_user_without_the_view_permission_sees_nothing(
    backend: DatabaseBackend, browser: WebDriver, live_server: Any
) -> None:
    seed_dashboard(backend)
    log_in(browser, live_server)
    browser.get(
        f"{live_server.url}{reverse('admin:django_tasks_spec_database_dbtaskresult_dashboard')}"
    )
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "403" in text or "Forbidden" in text
    assert "mail" not in text
    assert not browser.find_elements(By.CSS_SELECTOR, "tr.queue")
    screenshot(browser, "dashboard-refused")
    assert User.objects.filter(username="browser-0").exists()
