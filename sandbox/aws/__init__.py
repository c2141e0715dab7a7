"""The AWS sandbox: moto 5.2.5 in server mode behind a front app that adds a request log, fault
injection, a complete Timestream for InfluxDB backend and fixes to moto (see app.py)."""
