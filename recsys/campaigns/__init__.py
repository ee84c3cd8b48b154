"""Campaigns as code: definitions, who may be mailed, send files, outbox, uplift, report."""
