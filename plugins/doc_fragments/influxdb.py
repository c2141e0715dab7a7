# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # InfluxDB v2 connection options shared by every ons.timestream_influxdb.influx_* module.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the InfluxDB v2 server, for example C(https://mydb-abc123.us-east-1.timestream-influxdb.amazonaws.com:8086).
      - The modules add C(/api/v2) to it themselves; a URL ending in C(/api/v2) is refused before any request.
      - A URL that reaches a server without the InfluxDB v2 API (an HTTP 404 that is not InfluxDB's answer about a
        missing resource) fails the task naming O(url); it is never taken to mean that the resource does not exist.
      - If not set, the value of the E(INFLUX_HOST) environment variable is used.
    type: str
    required: true
    aliases: [ host ]
  token:
    description:
      - API token to authenticate with.
      - Mutually exclusive with O(username) and O(password).
      - If neither O(token) nor O(username) is set, the value of the E(INFLUX_TOKEN) environment variable is used.
        An explicit O(username)/O(password) therefore wins over a token exported in the environment.
      - There is no default; a token, or a username and password, must be given.
    type: str
  username:
    description:
      - Name of an InfluxDB user to sign in as instead of using a token.
      - The module signs in with C(POST /api/v2/signin) (HTTP basic authentication) and uses the session
        cookie for its requests, then signs out. This is how a new Timestream for InfluxDB instance is first
        reached, with the user and password stored in its auth-parameters secret.
      - Requires O(password).
    type: str
    aliases: [ user_name ]
  password:
    description:
      - Password of O(username).
    type: str
  org:
    description:
      - Organization (name or id) the resource belongs to.
      - If not set, the value of the E(INFLUX_ORG) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the server's TLS certificate.
      - Only set this to V(false) against a test server; use O(ca_path) for a private CA instead.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM file of CA certificates used to verify the server's certificate instead of the system store.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP request (to connect, and then for the answer). A server that does not answer within
        it fails the task with a message naming this option and its value.
    type: int
    default: 10
requirements:
  - influxdb-client (Python library on the host that runs the module; tested with 1.50.0)
notes:
  - Failures (unreachable host, TLS verification, HTTP 401/403/404) are reported as a message naming the
    operation and, where InfluxDB says so, the missing permission; never as a traceback. An C(https://) O(url)
    to a port that speaks plain HTTP is named as such; HTTP 401 means InfluxDB did not accept the token (or the
    username and password), a missing permission is HTTP 403; a server that does not answer names O(timeout).
  - A failed task also returns C(status) (the HTTP status), C(response) (what InfluxDB answered - status, reason,
    the C(X-Platform-Error-Code) and version headers, the body) and C(error) (the type and message of the exception
    behind the failure), each only when there is one; the traceback is in C(exception) (shown with
    E(ANSIBLE_DISPLAY_TRACEBACK=error)). Secrets are never part of them.
  - The modules in this collection speak the InfluxDB v2 API only (InfluxDB OSS 2.x, Timestream for InfluxDB).
  - Put the connection options in C(module_defaults) with the action group C(group/ons.timestream_influxdb.influxdb).
"""
