"""Reporters: what a person reads (console, HTML), what tools read (JSON, JUnit XML)."""

from harness.report.console import ConsoleReporter
from harness.report.html import write_html
from harness.report.json_report import REPORT_SCHEMA, json_report, write_json
from harness.report.junit import write_junit

__all__ = [
    "REPORT_SCHEMA", "ConsoleReporter", "json_report", "write_html", "write_json", "write_junit",
]
