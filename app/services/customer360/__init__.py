"""The customer 360 page's data: one customer whole, one function per tab (issue 17).

Every function takes the acting ``Actor`` (row scope: each query adds ``scope_criteria`` of the
model it reads, so a coach sees their own threads and sessions of a customer, never another
coach's) and the set of entity resources the viewer may read (a panel or a figure drawn from a
resource the role cannot read is left out, never computed). Each returns plain data built with a
fixed number of indexed, LIMITed queries, so a tab costs the same for a customer with ten rows as
for one with a million engagement events.
"""

from __future__ import annotations

from app.services.customer360.profile import RiskFlag, find_customer, header
from app.services.customer360.tabs import TABS, Tab, tab_data, visible_tabs

__all__ = ["TABS", "RiskFlag", "Tab", "find_customer", "header", "tab_data", "visible_tabs"]
