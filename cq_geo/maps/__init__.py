"""What people print or show: the offline council web map (``webmap``) and the eligibility sheet (``fiche``)."""
