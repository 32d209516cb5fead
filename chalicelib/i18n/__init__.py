"""What people read: error messages and notification texts in zh-CN and en."""

from chalicelib.i18n.locale import DEFAULT_LOCALE, LOCALES, locale_from_accept_language
from chalicelib.i18n.messages import error_message

__all__ = ["DEFAULT_LOCALE", "LOCALES", "error_message", "locale_from_accept_language"]
