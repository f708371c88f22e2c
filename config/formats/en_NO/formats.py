"""Norwegian bokmål formats for the portal's English text (Django's "en-no"): 30.11.2026 01:00, numbers 1 777,50.

Django's Norwegian bokmål formats, with dates written in digits and dates typed as 30.11.2026 first (as the admin
shows them).
"""

from django.conf.locale.nb.formats import *  # noqa: F403

DATE_FORMAT = "d.m.Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "d.m.Y H:i"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
DATE_INPUT_FORMATS = ["%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y"]
