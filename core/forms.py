from __future__ import annotations

from django import forms
from django.conf import settings

from . import format_locales
from .models import Profile, time_zone_names


class ProfileForm(forms.ModelForm):
    """The signed-in user's own settings. Blank choices follow the site default."""

    class Meta:
        model = Profile
        fields = ["language", "time_zone"]
        labels = {"language": "Numbers and dates", "time_zone": "Time zone"}
        help_texts = {
            "language": "How amounts and dates are written, e.g. 1\u00a0777,50\u00a0kr and 30.11.2026 (Norwegian) or "
            "NOK\u00a01,777.50 and 30/11/2026 (English), here and in the admin. The portal's text stays English.",
            "time_zone": "Times on every page are shown in this time zone.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        site_default = format_locales.of_language(settings.LANGUAGE_CODE)
        self.fields["language"].choices = [("", f"Site default ({site_default.label})"), *format_locales.CHOICES]
        self.fields["time_zone"] = forms.ChoiceField(
            label=self.Meta.labels["time_zone"],
            help_text=self.Meta.help_texts["time_zone"],
            required=False,
            choices=[("", f"Site default ({settings.TIME_ZONE})"), *((name, name) for name in time_zone_names())],
        )
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select"
