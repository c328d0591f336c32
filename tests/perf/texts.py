"""What synthetic reports say: descriptions per category, street names, people's names, replies.

Each description template has one `{street}` slot. The generator stores the description and
its search text side by side (`fold` of each piece, see `pieces`), so the search text is exactly
what `workflows.text.fold` makes of the whole description, as the app stores it.
"""

from __future__ import annotations

from workflows.text import fold

DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "urban-order": (
        "Hàng quán lấn chiếm hết vỉa hè trên đường {street}, người đi bộ phải xuống lòng đường",
        "Xe máy đậu tràn lan trước chợ đường {street}, gây ùn tắc giờ cao điểm",
        "Biển quảng cáo dựng trái phép trên vỉa hè đường {street}",
        "Quán nhậu bày bàn ghế ra tận mép đường {street} đến khuya",
        "Người bán hàng rong chiếm lối đi trước trường học đường {street}",
    ),
    "waste": (
        "Rác thải sinh hoạt tập kết bừa bãi ở đầu hẻm đường {street}, bốc mùi hôi thối",
        "Xà bần đổ trộm trên vỉa hè đường {street} đã nhiều ngày chưa được dọn",
        "Xe thu gom rác không đến đường {street} ba ngày nay",
        "Thùng rác công cộng trên đường {street} bị vỡ, rác tràn ra đường",
        "Rác cồng kềnh (nệm, tủ cũ) vứt dưới chân cầu gần đường {street}",
    ),
    "pollution": (
        "Xưởng sản xuất trên đường {street} xả khói đen và mùi khét vào buổi tối",
        "Nước thải chảy tràn ra mương dọc đường {street}, màu đen và hôi",
        "Tiếng ồn từ công trình trên đường {street} kéo dài sau 22 giờ",
        "Bụi mù mịt từ xe chở vật liệu chạy qua đường {street}",
    ),
    "roads": (
        "Ổ gà lớn giữa đường {street}, xe máy đi qua rất dễ té ngã",
        "Mặt đường {street} bị sụt lún sau mưa, nguy hiểm cho người đi đường",
        "Nắp hố ga trên đường {street} bị mất, chỉ cắm tạm một cành cây",
        "Vạch sơn đường {street} bị mờ hết, buổi tối rất khó nhìn",
        "Đèn tín hiệu giao thông ở ngã tư đường {street} bị hỏng",
        "Lan can cầu trên đường {street} bị gãy một đoạn",
    ),
    "street-lighting": (
        "Cả dãy đèn đường {street} không sáng từ tuần trước",
        "Cột đèn trên đường {street} bị nghiêng, dây điện lòi ra ngoài",
        "Đèn đường {street} sáng cả ban ngày, lãng phí điện",
        "Bóng đèn ở hẻm đường {street} chập chờn, tối om",
    ),
    "water-supply": (
        "Khu dân cư đường {street} mất nước hai ngày nay",
        "Ống nước bị vỡ trên vỉa hè đường {street}, nước chảy lênh láng",
        "Nước máy ở đường {street} đục và có mùi lạ",
        "Áp lực nước yếu, tầng hai ở đường {street} không có nước",
    ),
    "drainage-flooding": (
        "Mưa lớn là đường {street} ngập sâu, nước tràn vào nhà dân",
        "Cống thoát nước trên đường {street} bị tắc nghẽn, rác bịt kín miệng cống",
        "Mương thoát nước đường {street} bốc mùi và đầy bùn",
        "Hố ga đường {street} trào nước bẩn mỗi khi mưa",
    ),
    "trees": (
        "Cây xanh bị đổ chắn ngang đường {street}",
        "Cành cây lớn gãy treo lơ lửng trên đường {street}, rất nguy hiểm",
        "Cây trên vỉa hè đường {street} bị nghiêng, có nguy cơ ngã vào nhà dân",
        "Tán cây che khuất đèn tín hiệu ở đường {street}, đề nghị cắt tỉa",
    ),
    "construction-order": (
        "Công trình xây dựng trên đường {street} không có biển báo cấp phép",
        "Nhà đang xây ở đường {street} lấn ra lộ giới",
        "Vật liệu xây dựng để tràn ra lòng đường {street}",
        "Công trình trên đường {street} thi công cả ban đêm, không che chắn",
    ),
    "security-order": (
        "Nhóm thanh niên tụ tập đua xe trên đường {street} vào ban đêm",
        "Đánh nhau trước quán karaoke trên đường {street}",
        "Nghi có trộm cắp xe máy thường xuyên ở khu đường {street}",
    ),
    "public-transport": (
        "Xe buýt chạy qua trạm đường {street} không dừng đón khách",
        "Nhà chờ xe buýt trên đường {street} bị hư hỏng mái che",
        "Tài xế xe buýt tuyến qua đường {street} chạy ẩu, phóng nhanh",
    ),
    "other": (
        "Đề nghị xem xét tình trạng mất an toàn ở khu vực đường {street}",
        "Phản ánh chung về khu vực đường {street}, mong được kiểm tra",
        "Chó thả rông cắn người đi đường ở đường {street}",
    ),
}

REPLIES: dict[str, str] = {
    "urban-order": "Đã phối hợp lực lượng trật tự đô thị xử lý, giải tỏa vỉa hè.",
    "waste": "Đã thu gom, vệ sinh khu vực và nhắc nhở các hộ dân.",
    "pollution": "Đã kiểm tra, lập biên bản và yêu cầu cơ sở khắc phục.",
    "roads": "Đã vá sửa mặt đường, khắc phục hư hỏng.",
    "street-lighting": "Đã thay bóng, sửa chữa hệ thống chiếu sáng.",
    "water-supply": "Đã sửa chữa đường ống, cấp nước trở lại bình thường.",
    "drainage-flooding": "Đã nạo vét cống, khơi thông dòng chảy.",
    "trees": "Đã cắt tỉa, dọn dẹp cây đổ, đảm bảo an toàn.",
    "construction-order": "Đã kiểm tra, xử lý vi phạm trật tự xây dựng theo quy định.",
    "security-order": "Công an phường đã kiểm tra, xử lý theo quy định.",
    "public-transport": "Đã làm việc với đơn vị vận tải, nhắc nhở tài xế.",
    "other": "Đã chuyển đơn vị liên quan kiểm tra, xử lý.",
}

STREETS: tuple[str, ...] = (
    "Lê Duẩn", "Phan Bội Châu", "Nguyễn Tất Thành", "Hùng Vương", "Trần Hưng Đạo",
    "Lê Lợi", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Nguyễn Trãi", "Lê Thánh Tông", "Điện Biên Phủ", "Võ Thị Sáu", "Cách Mạng Tháng Tám",
    "Nguyễn Văn Linh", "Phạm Văn Đồng", "Võ Nguyên Giáp", "Trường Chinh", "Nguyễn Văn Cừ",
    "Lạc Long Quân", "Âu Cơ", "Bà Triệu", "Đinh Tiên Hoàng", "Lê Hồng Phong",
    "Phan Chu Trinh", "Nguyễn Thị Minh Khai", "Tôn Đức Thắng", "Ngô Quyền", "Yersin",
    "Y Jút", "Ama Khê", "Mạc Thị Bưởi", "Trần Phú", "Hoàng Diệu",
    "Nguyễn Công Trứ", "Lý Tự Trọng", "Bạch Đằng", "Chu Văn An", "Xô Viết Nghệ Tĩnh",
)

FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
                "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE_NAMES = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Hoàng", "Xuân")
GIVEN_NAMES = ("An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng",
               "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phong", "Phúc",
               "Quân", "Sơn", "Thảo", "Trang", "Trung", "Tuấn", "Việt", "Yến")


def pieces(template: str) -> tuple[str, str, str, str]:
    """(before, after, folded before, folded after) around the `{street}` slot.

    Folding a piece with a placeholder letter keeps its edge spaces, so
    fold(before + street + after) == folded before + fold(street) + folded after.
    """
    before, after = template.split("{street}")
    return before, after, fold(before + "x")[:-1], fold("x" + after)[1:]


def attribute_variants(fields: list[dict]) -> list[dict]:
    """A few plausible answer sets for a category's fields (lists and numbers only)."""
    variants: list[dict] = [{}]
    for spec in fields:
        code, kind = spec["code"], spec.get("datatype")
        keys = [v["key"] for v in spec.get("values") or []]
        if kind == "singlevaluelist":
            variants += [{code: key} for key in keys]
        elif kind == "multivaluelist":
            variants += [{code: [key]} for key in keys]
        elif kind == "number":
            variants += [{code: depth} for depth in (10, 20, 30, 50, 80)]
    required = [s["code"] for s in fields if s.get("required")]
    return [v for v in variants if all(code in v for code in required)] or [{}]
