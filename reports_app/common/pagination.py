"""One page of a query with its total, as every list endpoint returns it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from reports_app.extensions import db

COUNT_LIMIT = 10_000
"""How many matches a page's total counts at most. Beyond it `total` is this limit and
`total_exact` is false: counting every match of a national list (a city's two years of public
reports, an agency's whole history) would read them all on every page view."""


def paginate(stmt: sa.Select[Any], page: int, page_size: int) -> dict[str, Any]:
    """Run `stmt` for one page and count the whole result, up to COUNT_LIMIT matches."""
    count_limit = COUNT_LIMIT
    offset = (page - 1) * page_size
    items = db.session.scalars(stmt.limit(page_size).offset(offset)).all()
    if (items and len(items) < page_size) or (page == 1 and not items):
        # The page is the end of the list: its rows give the total without a count.
        total, exact = offset + len(items), True
    else:
        counted = db.session.scalar(sa.select(sa.func.count()).select_from(
            stmt.order_by(None).limit(count_limit + 1).subquery())) or 0
        exact = counted <= count_limit
        total = counted if exact else max(count_limit, offset + len(items))
    return {
        "items": items,
        "page": page,
        "page_size": page_size,
        "total": total,
        "total_exact": exact,
        "pages": (total + page_size - 1) // page_size,
    }
