"""Home Assistant connections inside Odoo.

``pool``: per-process connections for request/response calls from HTTP
workers. ``owner`` and ``supervisor``: the single realtime connection per
(database, instance), elected with a PostgreSQL advisory lock. ``runner``:
where the supervisors live (a thread of the threaded server, a dedicated
worker of the prefork server).
"""
