"""The workbench in a real browser (issue 17): Debian's Chromium, driven by its chromedriver
through selenium, against the service on loopback. Run by scripts/test after the fault scripts.

    python3 Tests/browser/workbench.py BIN ADMIN_URL PG_CTL DATA_DIR WORK_DIR SCREENSHOTS_DIR

Each demo user signs in by typing into the sign-in form, and a whole case goes through the pages
by clicking and typing: the operator files it (after a refused phone, with what was typed kept),
the center dispatches it to 泰山区, the district's handler signs, its sub-center passes it down to
岱庙街道, the street's handler signs and replies, the district and the center approve the reply,
the operator records the visit, another unit's handler cannot open it, and the manager opens the
month's appraisal. A screenshot of every page (the whole page) goes to SCREENSHOTS_DIR (git-ignored). Every request the browser makes
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
from selenium.common.exceptions import TimeoutException, WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

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


UNLABELLED = """
    return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name);"""
unlabelled_anywhere = []


def shot(name):
    record()
    # Every control of every page photographed has a label.
    unlabelled_anywhere.extend(f"{name}: {control}" for control in browser.execute_script(UNLABELLED))
    path = os.path.join(SHOTS, f"{len(shots) + 1:02d}-{name}.png")
    # The whole page, not only the window: the window grows to the page's height for the shot.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, max(900, min(height, 8000)))
    browser.save_screenshot(path)
    browser.set_window_size(1280, 900)
    shots.append(path)


def gone(element):
    """Whether a page's element has left the document (its page replaced by the next)."""
    def check_gone(_):
        try:
            element.is_enabled()
            return False
        except WebDriverException:  # stale, or the node left mid-navigation
            return True
    return check_gone


def submit(button):
    """Clicks a form's button (or a link) and waits for the page it leads to (a click does not wait)."""
    old = browser.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(browser, 20).until(gone(old))
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

    # A whole case through the pages, by clicking and typing (the README's tiered tour).
    def text():
        return browser.find_element(By.TAG_NAME, "main").text

    def open_link(label):
        submit_link(browser.find_element(By.LINK_TEXT, label))

    def submit_link(link):
        submit(link)

    def type_into(element_id, value):
        field = browser.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(value)

    def choose(element_id, value):
        Select(browser.find_element(By.ID, element_id)).select_by_value(value)

    def step(anchor):
        submit(browser.find_element(By.CSS_SELECTOR, f"#{anchor} button[type=submit]"))

    def as_user(label):
        user = users[label]
        sign_in(user["login"], user["password"])
        check(browser.current_url == f"{BASE}/workbench/", f"{label} signs in")

    def open_case(list_label, number, who):
        open_link(list_label)
        shot(f"{who}-{list_label}")
        links = browser.find_elements(By.LINK_TEXT, number)
        check(len(links) == 1, f"{who}: the case is in the list 「{list_label}」")
        submit_link(links[0])
        check(number in browser.title, f"{who}: the case page opens")

    as_user("operator")
    open_link("受理")
    choose("intake-channel", "phone")
    choose("intake-type", "complaint")
    choose("intake-category", "housing.property")
    type_into("intake-subject", "楼道堆放杂物")
    type_into("intake-description", "红门路1号楼道长期堆放杂物，影响通行。")
    choose("intake-location-region", "taishan")
    type_into("intake-location-address", "泰山区岱庙街道红门路1号")
    type_into("intake-citizen-name", "李四")
    # The script asks for similar cases as the operator types (a request to the service itself).
    try:
        WebDriverWait(browser, 10).until(lambda b: "输入电话" not in b.find_element(By.ID, "similar").text)
        looked = True
    except TimeoutException:
        looked = False
    check(looked, f"similar cases are looked up as the operator types ({browser.find_element(By.ID, 'similar').text})")
    type_into("intake-citizen-phone", "1391")   # too short: refused beside the field, nothing lost
    submit(browser.find_element(By.CSS_SELECTOR, "#intake button[type=submit]"))
    phone = browser.find_element(By.ID, "intake-citizen-phone")
    check(phone.get_attribute("aria-invalid") == "true", "a bad phone is marked on its field")
    check(browser.find_element(By.ID, "intake-subject").get_attribute("value") == "楼道堆放杂物", "what was typed is kept after the error")
    shot("operator-intake-error")
    type_into("intake-citizen-phone", "13912345678")
    shot("operator-intake")
    submit(browser.find_element(By.CSS_SELECTOR, "#intake button[type=submit]"))
    number = browser.title.split()[0]
    check(len(number) == 14 and number.isdigit() and "已受理" in text(), f"the operator files the case ({number})")
    shot("operator-case")
    sign_out()

    as_user("dispatcher")
    open_case("待派单", number, "dispatcher")
    choose("dispatch-lead_unit", "taishan")
    step("step-dispatch")
    check("已完成：派单" in text() and "已派单" in text(), "the dispatcher dispatches it to 泰山区")
    shot("dispatcher-dispatched")
    sign_out()

    as_user("handler@taishan")
    open_case("待办", number, "handler-taishan")
    step("step-sign")
    check("已完成：签收" in text(), "the district's handler signs")
    sign_out()

    as_user("dispatcher@taishan")
    open_case("待办", number, "dispatcher-taishan")
    choose("pass-down-lead_unit", "taishan.daimiao")
    step("step-pass-down")
    check("已完成：下派" in text(), "the district passes it down to 岱庙街道")
    shot("district-passed-down")
    sign_out()

    as_user("handler@taishan.daimiao")
    open_case("待办", number, "handler-street")
    check("李四" not in text() and "13912345678" not in text(), "the street handler sees the citizen masked")
    step("step-sign")
    check("已完成：签收" in text(), "the street handler signs")
    choose("reply-outcome", "resolved")
    type_into("reply-text", "已清理楼道杂物，恢复通行。")
    type_into("reply-handler_name", "王芳")
    type_into("reply-handler_phone", "0538-6221234")
    shot("street-reply")
    step("step-reply")
    check("已完成：答复市民" in text() and "答复审核中" in text(), "the street handler replies; the reply goes up for review")
    shot("street-replied")
    sign_out()

    as_user("dispatcher@taishan")
    open_case("待办", number, "district-review")
    step("step-replies-id-approve")
    check("已完成：审核答复" in text(), "the district approves the reply")
    sign_out()

    as_user("dispatcher")
    browser.get(f"{BASE}/workbench/cases/{number}")
    step("step-replies-id-approve")
    check("已完成：审核答复" in text() and "已答复" in text(), "the center approves: the citizen has the reply")
    shot("center-approved")
    sign_out()

    as_user("operator")
    open_case("待回访", number, "operator-visits")
    choose("visits-reached", "true")
    choose("visits-satisfaction", "satisfied")
    choose("visits-resolved", "true")
    step("step-visits")
    check("已完成：回访" in text() and "已办结" in text(), "the operator records the visit: the case is closed")
    shot("operator-visited")
    sign_out()

    # Another unit's handler learns nothing of the case, not even that it exists.
    as_user("handler")
    browser.get(f"{BASE}/workbench/cases/{number}")
    check("找不到" in browser.find_element(By.TAG_NAME, "body").text, "the housing bureau's handler cannot open 泰山区's case")
    shot("other-unit-refused")
    sign_out()

    as_user("manager")
    open_link("考评")
    check("发布本期考评" in text(), "the manager's appraisal page offers to publish")
    shot("manager-appraisal-index")
    open_link("考评通报（打印版）")
    body = browser.find_element(By.TAG_NAME, "body").text
    check("泰山区" in body, "the manager opens the month's appraisal")
    shot("manager-appraisal")
    browser.get(f"{BASE}/workbench/")
    sign_out()

    # 200 % zoom: a 1280-pixel screen at 200 % is a 640-pixel-wide page; nothing may need a
    # sideways scroll (the layout reflows).
    as_user("operator")
    browser.set_window_size(640, 900)
    for path in ("/workbench/intake", f"/workbench/cases/{number}", "/workbench/visits"):
        browser.get(BASE + path)
        overflow = browser.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        check(overflow <= 1, f"{path} reflows at 200 % zoom (overflow {overflow} px)")
    path = os.path.join(SHOTS, f"{len(shots) + 1:02d}-zoom-200-case.png")
    browser.get(f"{BASE}/workbench/cases/{number}")
    browser.save_screenshot(path)
    shots.append(path)
    browser.set_window_size(1280, 900)
    browser.get(f"{BASE}/workbench/")
    sign_out()

    # Keyboard alone: from the login field, Tab reaches the password and then the button.
    browser.get(f"{BASE}/workbench/login")
    check(browser.switch_to.active_element.get_attribute("id") == "login", "the sign-in page starts in the login field")
    focused = []
    for _ in range(2):
        browser.switch_to.active_element.send_keys("\t")
        focused.append(browser.switch_to.active_element.get_attribute("id") or browser.switch_to.active_element.tag_name)
    check(focused == ["password", "button"], f"the sign-in form is worked with Tab alone ({focused})")
    check(unlabelled_anywhere == [], f"every control of every page photographed has a label ({unlabelled_anywhere})")

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
