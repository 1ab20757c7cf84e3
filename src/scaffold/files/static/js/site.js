'use strict';

document.addEventListener('DOMContentLoaded', function () {
  var status = document.getElementById('js-status');
  if (status) {
    status.textContent = 'JavaScript is running.';
  }
});
