"""Staff forms for boundary files: upload (for a dry run) and activation of a stored version."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from geodata.imports.boundaries import BoundaryFileError
from geodata.imports.uploads import UPLOAD_SUFFIXES
from mapideas.plumbing.stored_text import StoredTextField

# Which form field a read_boundaries argument, or a model field refused on import, belongs to.
FIELD_FOR_ERROR = {
    "path": "file",
    "name_field": "name_field",
    "population_field": "population_field",
    "team_field": "team_field",
    "priority_field": "priority_field",
    "source_srid": "source_srid",
    "repair": "repair",
    # boundary_version_create's ValidationError keys (model fields)
    "name": "name_field",
    "slug": "name_field",
    "team": "team_field",
    "population": "population_field",
    "priority": "priority_field",
    "geometry": "file",
}


class BoundaryUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Boundary file"),
        help_text=gettext_lazy(
            "GeoJSON (.geojson, .json), GeoPackage (.gpkg) or a zipped shapefile (.zip), "
            "up to 50 MB, in any coordinate reference system."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(UPLOAD_SUFFIXES)}),
    )
    name_field = forms.CharField(
        label=gettext_lazy("Name field"),
        max_length=200,
        help_text=gettext_lazy("The attribute holding each name."),
    )
    team_field = forms.CharField(
        label=gettext_lazy("Team field"),
        max_length=200,
        required=False,
        help_text=gettext_lazy(
            "The attribute naming the district team; empty: one team per neighborhood."
        ),
    )
    population_field = forms.CharField(
        label=gettext_lazy("Population field"), max_length=200, required=False
    )
    priority_field = forms.CharField(
        label=gettext_lazy("Priority field"),
        max_length=200,
        required=False,
        help_text=gettext_lazy(
            "A whole number: where polygons overlap, the highest priority owns the pin."
        ),
    )
    source_srid = forms.IntegerField(
        label=gettext_lazy("Source SRID"),
        required=False,
        min_value=1,
        help_text=gettext_lazy(
            "EPSG code of the coordinates, when the file does not say (or says wrong)."
        ),
    )
    repair = forms.BooleanField(
        label=gettext_lazy("Repair invalid polygons"),
        required=False,
        initial=True,
        help_text=gettext_lazy("Otherwise an invalid polygon refuses the file."),
    )

    def boundary_options(self) -> dict:
        """The cleaned fields as read_boundaries' keyword arguments (a session can keep them)."""
        data = self.cleaned_data
        return {
            "name_field": data["name_field"].strip(),
            "team_field": data["team_field"].strip() or None,
            "population_field": data["population_field"].strip() or None,
            "priority_field": data["priority_field"].strip() or None,
            "source_srid": data["source_srid"],
            "repair": data["repair"],
        }

    def add_import_error(self, exc: BoundaryFileError | ValidationError, *, path, name) -> None:
        """Show what the importer refused next to the field to change.

        The stored file's path is replaced by the name it was uploaded with.
        """
        if isinstance(exc, BoundaryFileError):
            message = str(exc).replace(str(path), name)
            self.add_error(FIELD_FOR_ERROR.get(exc.field, "file"), message)
            return
        if hasattr(exc, "error_dict"):
            for key, errors in exc.message_dict.items():
                self.add_error(FIELD_FOR_ERROR.get(key), errors)
        else:
            self.add_error(None, exc.messages)


class BoundaryActivateForm(forms.Form):
    reason = StoredTextField(
        label=gettext_lazy("Reason"),
        max_length=1000,
        help_text=gettext_lazy("Kept with every pin that moves."),
    )
