"""The project's FAB base classes: every console view gets the same safe, fast behaviour.

``model_view.CoachdeskModelView`` (FAB's ``ModelView``) adds, on top of FAB, one mixin per concern:

* permissions collapsed to ``can_read``/``can_write`` on the view's resource (``app.policy.roles``);
* row scope on every path through ``datamodel.ScopedSQLAInterface`` (``app.policy.scope``);
* explicit columns, with any ``info={"secret": True}`` column refused at start-up (``columns``);
* deterministic ordering, page size capped at 100, a bounded page depth with cursor links beyond
  (``paging``), and a count that is exact up to 10,000 rows and an estimate beyond ("about N");
* eager loading of what the list shows: one query per page (``listing``, ``list_eager``);
* a search box over ``search_text_columns`` and typed filters (enum, boolean, date and number
  ranges, relations by autocomplete) built from ``filter_columns`` (``filters``);
* ``/autocomplete/<column>`` (scoped, permission-checked) for relation pickers and filters;
* times shown in the viewer's time zone (``display``); a date filter's day runs from midnight to
  midnight in that zone;
* ``/export/`` streaming the current filtered list as CSV in UTC (``export``);
* bulk actions that load the selected rows in one scoped query (``actions``);
* constraint violations turned into a message, with the transaction rolled back (``records``);
* malformed input refused with a 4xx before FAB sees it (``hardening``, shared with FAB's own
  security views in ``app.web.security.views``).

``area.register_area`` puts an area's views in the menu; ``app.web.api.resource.CoachdeskModelRestApi``
is the same rules for REST resources. Import names from the module that holds them.
"""
