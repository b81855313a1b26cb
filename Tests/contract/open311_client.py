"""A GeoReport v2 client from PyPI against the running service.

georeport (the maintained Python 3 client on PyPI) lists services, reads definitions and
follows requests. It does not file requests ("GeoReport does not currently support the creation
of new 311 service requests"), and the clients that do (open311 1.1, three 0.8) are Python 2
only; so the request is filed with a plain form POST exactly as GeoReport v2 defines it, and
read back with georeport.
"""
import sys

import requests
from georeport import GeoReport

base, api_key = sys.argv[1].rstrip("/"), sys.argv[2]
client = GeoReport(base + "/open311/v2", api_key=api_key)

services = client.get_service_list()
codes = {s["service_code"] for s in services}
assert "utilities.water" in codes, codes
definition = client.get_service_definition("utilities.water")
assert [a["code"] for a in definition["attributes"]] == ["request_type", "supply_cut_off"], definition

filed = requests.post(base + "/open311/v2/requests.json", data={
    "api_key": api_key, "service_code": "utilities.water", "lat": "36.19", "long": "117.12",
    "address_string": "泰山区红门路1号", "first_name": "三", "last_name": "张", "phone": "13811112222",
    "description": "小区停水两天", "attribute[request_type]": "help", "attribute[supply_cut_off]": "true",
})
assert filed.status_code == 201, (filed.status_code, filed.text)
number = filed.json()[0]["service_request_id"]

one = client.get_service_request(number)
assert one["service_request_id"] == number and one["status"] == "open", one
assert one["service_code"] == "utilities.water" and one["description"] == "小区停水两天", one
assert "13811112222" not in str(one) and "张三" not in str(one), one
listed = client.get_service_requests(service_request_id=number)
assert [r["service_request_id"] for r in listed] == [number], listed
recent = client.get_service_requests(service_code="utilities.water", status="open")
assert number in [r["service_request_id"] for r in recent], recent

refused = requests.post(base + "/open311/v2/requests.json", data={"service_code": "utilities.water", "address_string": "x"})
assert refused.status_code == 403 and refused.json()[0]["code"] == 403, refused.text
print(f"open311 client: {len(services)} services listed, request {number} filed and read back")
