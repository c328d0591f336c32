"""The synthetic country the data generator lays out: 34 provinces (the post-2025 two-level
structure), about 3,300 wards and communes on a grid around each province's centre, and six
agencies per province. Shapes are squares, not official boundaries; names are made up from
common place-name syllables. Everything here is pure data and arithmetic, no database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workflows.text import fold


@dataclass(frozen=True)
class Province:
    """One province or centrally governed city after the July 2025 merger."""

    code: str
    name_vi: str
    name_en: str
    lat: float
    lon: float
    population_m: float
    wards: int
    city: bool  # a centrally governed city: denser wards, more reports per resident


# Centres are approximate centroids of the merged provinces; populations (millions) and ward
# counts are close to the published 2025 figures, which is all the spreads need.
PROVINCES: tuple[Province, ...] = (
    Province("01", "Thành phố Hà Nội", "Hanoi", 21.03, 105.85, 8.7, 126, True),
    Province("79", "Thành phố Hồ Chí Minh", "Ho Chi Minh City", 10.78, 106.70, 14.0, 168, True),
    Province("31", "Thành phố Hải Phòng", "Hai Phong", 20.86, 106.68, 4.7, 114, True),
    Province("48", "Thành phố Đà Nẵng", "Da Nang", 16.05, 108.20, 3.1, 94, True),
    Province("92", "Thành phố Cần Thơ", "Can Tho", 9.90, 105.80, 4.2, 103, True),
    Province("46", "Thành phố Huế", "Hue", 16.46, 107.59, 1.4, 40, True),
    Province("12", "Tỉnh Lai Châu", "Lai Chau", 22.40, 103.45, 0.5, 38, False),
    Province("11", "Tỉnh Điện Biên", "Dien Bien", 21.60, 102.95, 0.6, 45, False),
    Province("14", "Tỉnh Sơn La", "Son La", 21.20, 104.00, 1.3, 75, False),
    Province("20", "Tỉnh Lạng Sơn", "Lang Son", 21.85, 106.76, 0.8, 65, False),
    Province("22", "Tỉnh Quảng Ninh", "Quang Ninh", 21.10, 107.30, 1.4, 54, False),
    Province("38", "Tỉnh Thanh Hóa", "Thanh Hoa", 19.81, 105.60, 4.3, 166, False),
    Province("40", "Tỉnh Nghệ An", "Nghe An", 19.10, 104.90, 3.8, 130, False),
    Province("42", "Tỉnh Hà Tĩnh", "Ha Tinh", 18.30, 105.80, 1.6, 69, False),
    Province("04", "Tỉnh Cao Bằng", "Cao Bang", 22.67, 106.26, 0.5, 56, False),
    Province("08", "Tỉnh Tuyên Quang", "Tuyen Quang", 22.40, 105.00, 1.9, 124, False),
    Province("15", "Tỉnh Lào Cai", "Lao Cai", 22.00, 104.20, 1.8, 99, False),
    Province("19", "Tỉnh Thái Nguyên", "Thai Nguyen", 21.85, 105.85, 1.8, 92, False),
    Province("25", "Tỉnh Phú Thọ", "Phu Tho", 21.20, 105.30, 4.0, 148, False),
    Province("24", "Tỉnh Bắc Ninh", "Bac Ninh", 21.30, 106.30, 3.6, 99, False),
    Province("33", "Tỉnh Hưng Yên", "Hung Yen", 20.55, 106.30, 3.6, 104, False),
    Province("37", "Tỉnh Ninh Bình", "Ninh Binh", 20.25, 105.97, 4.4, 129, False),
    Province("44", "Tỉnh Quảng Trị", "Quang Tri", 17.30, 106.60, 1.9, 78, False),
    Province("51", "Tỉnh Quảng Ngãi", "Quang Ngai", 14.90, 108.50, 2.2, 96, False),
    Province("52", "Tỉnh Gia Lai", "Gia Lai", 13.90, 108.60, 3.6, 135, False),
    Province("56", "Tỉnh Khánh Hòa", "Khanh Hoa", 12.10, 109.00, 2.2, 65, False),
    Province("68", "Tỉnh Lâm Đồng", "Lam Dong", 11.70, 108.00, 3.9, 124, False),
    Province("66", "Tỉnh Đắk Lắk", "Dak Lak", 12.90, 108.50, 3.3, 102, False),
    Province("75", "Tỉnh Đồng Nai", "Dong Nai", 11.35, 106.95, 4.5, 95, False),
    Province("80", "Tỉnh Tây Ninh", "Tay Ninh", 10.95, 106.10, 3.3, 96, False),
    Province("86", "Tỉnh Vĩnh Long", "Vinh Long", 10.10, 106.25, 4.3, 124, False),
    Province("82", "Tỉnh Đồng Tháp", "Dong Thap", 10.45, 105.75, 4.4, 102, False),
    Province("96", "Tỉnh Cà Mau", "Ca Mau", 9.15, 105.20, 2.6, 64, False),
    Province("91", "Tỉnh An Giang", "An Giang", 10.40, 105.00, 4.9, 102, False),
)

CITY_REPORT_FACTOR = 2.5
"""Residents of the big cities use the app more: reports per resident relative to provinces."""
CITY_CELL_DEG = 0.018
PROVINCE_CELL_DEG = 0.032
URBAN_SHARE = {True: 0.6, False: 0.15}
"""Share of a province's units (the innermost) that are urban wards rather than communes."""

SYLLABLES = (
    "An", "Bình", "Hòa", "Phú", "Tân", "Thạnh", "Long", "Phước", "Hưng", "Thịnh", "Đông", "Tây",
    "Nam", "Bắc", "Trung", "Hiệp", "Thuận", "Lợi", "Mỹ", "Xuân", "Quang", "Minh", "Thành", "Lộc",
    "Hải", "Sơn", "Kim", "Ngọc", "Vĩnh", "Cát", "Định", "Đức", "Gia", "Hà", "Khánh", "Lạc",
    "Nghĩa", "Phong", "Quý", "Tiến",
)

AGENCY_KINDS: tuple[tuple[str, str, str, str], ...] = (
    # code prefix, kind, Vietnamese name prefix, English name prefix
    ("SXD", "department", "Sở Xây dựng", "Department of Construction"),
    ("SNNMT", "department", "Sở Nông nghiệp và Môi trường", "Department of Agriculture and Environment"),
    ("CAT", "police", "Công an", "Police of"),
    ("CTN", "utility", "Công ty Cấp thoát nước", "Water Supply and Drainage Company of"),
    ("CTMT", "utility", "Công ty Môi trường Đô thị", "Urban Environment Company of"),
    ("CTCX", "utility", "Công ty Công viên Cây xanh", "Parks and Trees Company of"),
)

CATEGORY_AGENCY = {
    "urban-order": "CAT", "waste": "CTMT", "pollution": "SNNMT", "roads": "SXD",
    "street-lighting": "SXD", "water-supply": "CTN", "drainage-flooding": "CTN", "trees": "CTCX",
    "construction-order": "SXD", "security-order": "CAT", "public-transport": "SXD",
}
"""Which of a province's agencies each category's routing rule names; `other` has no rule, so
those reports wait for an operator (DESIGN.md: with no rule it stays `submitted`)."""

CATEGORY_SHARE = {
    "urban-order": 0.14, "waste": 0.16, "pollution": 0.05, "roads": 0.18,
    "street-lighting": 0.08, "water-supply": 0.07, "drainage-flooding": 0.08, "trees": 0.06,
    "construction-order": 0.07, "security-order": 0.04, "public-transport": 0.03, "other": 0.04,
}


@dataclass(frozen=True)
class Ward:
    """One ward or commune: a square cell of its province's grid."""

    id: int
    province_index: int
    code: str
    name_vi: str
    name_en: str
    level: str
    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float
    weight: float  # share of all reports placed in it

    @property
    def name_fold(self) -> str:
        """The name as search text stores it (no diacritics, lower case)."""
        return fold(self.name_vi)

    def boundary(self) -> dict:
        """The cell as a GeoJSON polygon (lon, lat), closed."""
        ring = [[self.min_lon, self.min_lat], [self.max_lon, self.min_lat],
                [self.max_lon, self.max_lat], [self.min_lon, self.max_lat],
                [self.min_lon, self.min_lat]]
        return {"type": "Polygon", "coordinates": [ring]}


def province_weights() -> list[float]:
    """Each province's share of all reports: residents, more in the big cities."""
    raw = [p.population_m * (CITY_REPORT_FACTOR if p.city else 1.0) for p in PROVINCES]
    total = sum(raw)
    return [w / total for w in raw]


def _grid(count: int) -> list[tuple[int, int]]:
    """`count` cells of a square grid, nearest the centre first (a spiral, as a town grows)."""
    side = math.ceil(math.sqrt(count))
    half = (side - 1) / 2
    cells = [(r, c) for r in range(side) for c in range(side)]
    cells.sort(key=lambda rc: (math.hypot(rc[0] - half, rc[1] - half),
                               math.atan2(rc[0] - half, rc[1] - half)))
    return cells[:count]


def _name(rank: int, province_index: int) -> str:
    """Two syllables, e.g. "Tân Phú", different for every unit of a province."""
    pair = (rank * 17 + province_index * 13) % (len(SYLLABLES) ** 2)
    first, second = divmod(pair, len(SYLLABLES))
    if first == second:
        second = (second + 1) % len(SYLLABLES)
    return f"{SYLLABLES[first]} {SYLLABLES[second]}"


def _ascii(text: str) -> str:
    return " ".join(w.capitalize() for w in fold(text).split())


def lay_out_wards(first_id: int) -> list[Ward]:
    """Every ward and commune, ids from `first_id`, with its share of the country's reports.

    Inside a province the share falls with the distance from the centre (weight ∝ 1/(rank+3)),
    so the central urban wards are where most reports come from, as in a real city.
    """
    wards: list[Ward] = []
    next_id = first_id
    shares = province_weights()
    for p_index, province in enumerate(PROVINCES):
        cell = CITY_CELL_DEG if province.city else PROVINCE_CELL_DEG
        cells = _grid(province.wards)
        side = math.ceil(math.sqrt(province.wards))
        raw = [1 / (rank + 3) for rank in range(province.wards)]
        total = sum(raw)
        urban = round(province.wards * URBAN_SHARE[province.city])
        for rank, (r, c) in enumerate(cells):
            lat0 = province.lat + (r - side / 2) * cell
            lon0 = province.lon + (c - side / 2) * cell
            name = _name(rank, p_index)
            is_ward = rank < urban
            wards.append(Ward(
                id=next_id, province_index=p_index,
                code=f"{province.code}{rank + 1:03d}",
                name_vi=("Phường " if is_ward else "Xã ") + name,
                name_en=_ascii(name) + (" Ward" if is_ward else " Commune"),
                level="ward" if is_ward else "commune",
                min_lat=round(lat0, 6), min_lon=round(lon0, 6),
                max_lat=round(lat0 + cell, 6), max_lon=round(lon0 + cell, 6),
                weight=shares[p_index] * raw[rank] / total))
            next_id += 1
    return wards
