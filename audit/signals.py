from django.dispatch import Signal

# Someone read records of the audit log: a query, an export, a report or a
# page of the admin viewer. Arguments: via ("query", "export", "report",
# "admin", "admin_download", "api"), filters (dict of the filters applied,
# as given), count (records returned), request (or None from the command line).
audit_log_viewed = Signal()
