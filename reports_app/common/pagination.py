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
    """Run `stmt` for one page and count the whole result, up to COUNT_LIMIT matches.

    The count rides along with the page as an uncorrelated subquery, which the database runs
    once: one round trip, not two. Only a page past the end (no row to carry it) asks again.
    """
    offset = (page - 1) * page_size
    counted = sa.select(sa.func.count()).select_from(
        stmt.order_by(None).limit(COUNT_LIMIT + 1).subquery()).scalar_subquery()
    rows = db.session.execute(stmt.add_columns(counted.label("matches"))
                              .limit(page_size).offset(offset)).all()
    items = [row[0] for row in rows]
    if (rows and len(rows) < page_size) or (page == 1 and not rows):
        # The page is the end of the list: its rows give the total.
        total, exact = offset + len(rows), True
    else:
        matches = rows[0][-1] if rows else db.session.scalar(sa.select(counted)) or 0
        exact = matches <= COUNT_LIMIT
        total = matches if exact else max(COUNT_LIMIT, offset + len(items))
    return {
        "items": items,
        "page": page,
        "page_size": page_size,
        "total": total,
        "total_exact": exact,
        "pages": (total + page_size - 1) // page_size,
    }
