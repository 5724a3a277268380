// The complaint labels the console shows (the API gives its own *_label
// with every object; these are for filters and selects).
export const COMPLAINT_TYPES = { complaint: '投诉', suggestion: '建议', praise: '表扬', enquiry: '咨询' }
export const COMPLAINT_STATES = { submitted: '待受理', in_progress: '处理中', resolved: '待确认', closed: '已关闭' }
export const COMPLAINT_LEVELS = { normal: '一般', hot: '热点', important: '重要', major: '重大' }
