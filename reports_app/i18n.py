"""The user's language and the short texts the API says in Vietnamese and English."""

from __future__ import annotations

from flask import current_app, has_request_context, request

LANGUAGES = ("vi", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "bad_request": {"vi": "Yêu cầu không hợp lệ.", "en": "The request is malformed."},
    "unauthorized": {"vi": "Cần đăng nhập.", "en": "Authentication is required."},
    "token_expired": {"vi": "Phiên đăng nhập đã hết hạn.", "en": "The token has expired."},
    "token_revoked": {"vi": "Phiên đăng nhập đã bị thu hồi.", "en": "The token has been revoked."},
    "invalid_token": {"vi": "Mã xác thực không hợp lệ.", "en": "The token is invalid."},
    "forbidden": {"vi": "Bạn không có quyền thực hiện thao tác này.",
                  "en": "You are not allowed to do this."},
    "not_found": {"vi": "Không tìm thấy.", "en": "Not found."},
    "method_not_allowed": {"vi": "Phương thức không được hỗ trợ.",
                           "en": "This method is not allowed here."},
    "conflict": {"vi": "Xung đột dữ liệu.", "en": "The request conflicts with the current state."},
    "payload_too_large": {"vi": "Dữ liệu gửi lên quá lớn.", "en": "The request body is too large."},
    "unsupported_media_type": {"vi": "Định dạng tệp không được hỗ trợ.",
                               "en": "This file type is not supported."},
    "validation_error": {"vi": "Dữ liệu không hợp lệ.", "en": "Some fields are invalid."},
    "rate_limited": {"vi": "Quá nhiều yêu cầu, vui lòng thử lại sau.",
                     "en": "Too many requests; try again later."},
    "internal_error": {"vi": "Lỗi hệ thống.", "en": "Internal server error."},
    "invalid_credentials": {"vi": "Sai tên đăng nhập hoặc mật khẩu.",
                            "en": "Wrong username or password."},
    "account_exists": {"vi": "Tài khoản đã tồn tại.", "en": "An account with this phone or e-mail exists."},
    "account_inactive": {"vi": "Tài khoản đã bị khoá.", "en": "This account is deactivated."},
    "account_locked": {"vi": "Đăng nhập sai quá nhiều lần, vui lòng thử lại sau.",
                       "en": "Too many failed sign-ins; try again later."},
    "duplicate_code": {"vi": "Mã đã được dùng.", "en": "This code is already in use."},
    "in_use": {"vi": "Đang được sử dụng.", "en": "Still referenced by other records."},
    "already_acknowledged": {"vi": "Cảnh báo quá hạn này đã được ghi nhận.",
                             "en": "This warning or breach was already acknowledged."},
    "outside_service_area": {"vi": "Vị trí nằm ngoài địa bàn tiếp nhận phản ánh.",
                             "en": "The location is outside the service area."},
    "location_required": {"vi": "Cần vị trí: bật định vị hoặc gửi ảnh có toạ độ GPS.",
                          "en": "A location is needed: send lat/lon or a photo with GPS."},
    "file_too_large": {"vi": "Tệp ảnh quá lớn.", "en": "The photo file is too large."},
    "image_too_large": {"vi": "Ảnh có quá nhiều điểm ảnh.", "en": "The photo has too many pixels."},
    "broken_image": {"vi": "Ảnh bị hỏng, không đọc được.",
                     "en": "The photo is damaged and cannot be read."},
    "too_many_photos": {"vi": "Quá nhiều ảnh cho một phản ánh.",
                        "en": "Too many photos for one report."},
    "idempotency_key_reused": {"vi": "Idempotency-Key đã được dùng cho một yêu cầu khác.",
                               "en": "This Idempotency-Key was used for a different request."},
    "request_in_progress": {"vi": "Yêu cầu với Idempotency-Key này đang được xử lý; thử lại sau.",
                            "en": "A request with this Idempotency-Key is still running; "
                                  "retry shortly."},
}


def current_language() -> str:
    """The caller's language: the account's choice, else Accept-Language, else the default."""
    if not has_request_context():
        return "vi"
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    best = request.accept_languages.best_match(LANGUAGES)
    if best:
        return best
    return current_app.config.get("DEFAULT_LANGUAGE", "vi")


def message(code: str, language: str | None = None) -> str:
    """The text for an error code in the caller's language."""
    texts = MESSAGES.get(code)
    if texts is None:
        return code.replace("_", " ")
    return texts[language or current_language()]
