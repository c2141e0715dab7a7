"""Local stand-ins for AWS and InfluxDB v2 used by the tests and `make run`.

Not part of the built collection (galaxy.yml build_ignore).
"""
