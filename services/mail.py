"""Mail to the archive's recipients (``ARCHIVE_REMINDER_EMAIL_TO``) through the SMTP server of
the settings: reminders (:func:`services.contracts.reminders.send_email`) and fixity failures
(:mod:`services.jobs`)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from core.settings import Settings

log = logging.getLogger(__name__)


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host and settings.reminder_recipients)


def send_mail(settings: Settings, subject: str, body: str) -> str | None:
    """Send one message; the error, or None when it was sent. Call only when
    :func:`mail_configured`."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(settings.reminder_recipients)
    message.set_content(body, charset="utf-8")
    try:
        with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return str(exc) or type(exc).__name__
    return None
