"""One page of a query with its total, as every list endpoint returns it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from reports_app.extensions import db


def paginate(stmt: sa.Select[Any], page: int, page_size: int) -> dict[str, Any]:
    """Run `stmt` for one page and count the whole result."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)).all()
    return {
        "items": items,
        "page": page,
        "page_size": page_size,
        "total": total or 0,
        "pages": ((total or 0) + page_size - 1) // page_size,
    }
