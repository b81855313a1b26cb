"""The workbench in a real browser (issue 17): Debian's Chromium, driven by its chromedriver
through selenium, against the service on loopback. Run by scripts/test after the fault scripts.

    python3 Tests/browser/workbench.py BIN ADMIN_URL PG_CTL DATA_DIR WORK_DIR SCREENSHOTS_DIR

Each demo user signs in by typing into the sign-in form, and what each page shows is checked; a
screenshot of every page goes to SCREENSHOTS_DIR (git-ignored). Every request the browser makes
is recorded from Chromium's performance log: none may leave the service's origin. The session
cookie must not be readable by script, and a wrong password shows the error beside the form
with the login kept.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "faults"))
from harness import check, failures, fresh_database, start, users  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SHOTS = sys.argv[6]
os.makedirs(SHOTS, exist_ok=True)
env, _ = fresh_database("browser")
server, port, log = start(env, "--sweep-interval", "0")
BASE = f"http://127.0.0.1:{port}"

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=zh-CN",
             "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"):
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
browser.set_page_load_timeout(30)
requested = []
shots = []


def record():
    """Every request the browser made since the last call (Network.requestWillBeSent)."""
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])


def shot(name):
    record()
    path = os.path.join(SHOTS, f"{len(shots) + 1:02d}-{name}.png")
    browser.save_screenshot(path)
    shots.append(path)


def submit(button):
    """Clicks a form's button and waits for the page the form leads to (a click does not wait)."""
    old = browser.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(old))
    WebDriverWait(browser, 20).until(lambda b: b.execute_script("return document.readyState") == "complete")


def sign_in(login, password):
    browser.get(f"{BASE}/workbench/login")
    browser.find_element(By.ID, "login").clear()
    browser.find_element(By.ID, "login").send_keys(login)
    browser.find_element(By.ID, "password").send_keys(password)
    submit(browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))


def sign_out():
    submit(browser.find_element(By.CSS_SELECTOR, "header form button[type=submit]"))
    check(browser.current_url == f"{BASE}/workbench/login", "signing out leads to the sign-in page")


try:
    operator = users["operator"]
    browser.get(f"{BASE}/workbench/")
    check(browser.current_url == f"{BASE}/workbench/login", "a page asked for without a session leads to the sign-in page")
    shot("sign-in")

    sign_in(operator["login"], "not-the-password")
    body = browser.find_element(By.TAG_NAME, "body").text
    check("登录名或密码不正确" in body, "a wrong password is said on the form")
    check(browser.find_element(By.ID, "login").get_attribute("value") == operator["login"], "the login typed is kept after the error")
    shot("sign-in-wrong-password")

    for label in ("operator", "dispatcher", "handler@taishan.daimiao", "manager"):
        user = users[label]
        sign_in(user["login"], user["password"])
        check(browser.current_url == f"{BASE}/workbench/", f"{label} signs in by typing into the form")
        header = browser.find_element(By.TAG_NAME, "header").text
        check("退出" in header, f"{label}'s pages carry a sign-out button")
        check(browser.execute_script("return document.cookie") == "", f"{label}'s session cookie is not readable by script")
        cookies = {c["name"]: c for c in browser.get_cookies()}
        session = cookies.get("hotline_session", {})
        check(session.get("httpOnly") is True and session.get("sameSite") == "Strict", f"{label}'s session cookie is HttpOnly and SameSite=Strict")
        shot(f"home-{label.replace('@', '-')}")
        sign_out()

    # Keyboard alone: from the login field, Tab reaches the password and then the button.
    browser.get(f"{BASE}/workbench/login")
    check(browser.switch_to.active_element.get_attribute("id") == "login", "the sign-in page starts in the login field")
    focused = []
    for _ in range(2):
        browser.switch_to.active_element.send_keys("\t")
        focused.append(browser.switch_to.active_element.get_attribute("id") or browser.switch_to.active_element.tag_name)
    check(focused == ["password", "button"], f"the sign-in form is worked with Tab alone ({focused})")
    # Every control has a label.
    unlabelled = browser.execute_script("""
        return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name);""")
    check(unlabelled == [], f"every control of the sign-in form has a label ({unlabelled})")

    record()
    outside = sorted({url for url in requested if not (url.startswith(BASE + "/") or url.startswith("data:"))})
    check(len(requested) > 10 and outside == [], f"{len(requested)} requests, none outside the service: {outside}")
finally:
    browser.quit()
    server.terminate()
    server.wait()

print(f"screenshots: {len(shots)} in {SHOTS}")
if failures:
    print(f"{len(failures)} browser checks failed")
    sys.exit(1)
print("every browser check passed")
