// An API error in a form: the message, and the field it names (error.field)
// highlighted on the matching el-form-item (:error="err.of('reason')").
import { reactive } from 'vue'
import { errorDetail, errorText } from '../errors.js'

export function useFormError() {
  const err = reactive({
    message: '',
    field: '',
    detail: '',
    // labels: {field: label} of the form, for the Chinese sentence
    set(e, labels) {
      err.message = errorText(e, labels)
      err.detail = errorDetail(e)
      err.field = e.field || ''
    },
    clear() {
      err.message = ''
      err.detail = ''
      err.field = ''
    },
    // the message for the form item of `name` (else '', no highlight)
    of(name) {
      return err.field === name ? err.message : ''
    },
  })
  return err
}
